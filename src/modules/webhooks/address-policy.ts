import { lookup as dnsLookup, type LookupAddress, type LookupOneOptions } from 'node:dns'
import { BlockList, isIP } from 'node:net'

/**
 * Webhook URLs must not reach into the server's own network: loopback, private, link-local (cloud metadata
 * lives at 169.254.169.254), carrier-grade NAT, unspecified and multicast addresses are refused unless the
 * operator sets WEBHOOK_ALLOW_PRIVATE=true. The check runs on the address actually connected to, at every
 * attempt, so a name that later resolves elsewhere (DNS rebinding) is caught too.
 */

const blocked = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6')
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return blocked.check(address, 'ipv4')
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    if (mapped) return blocked.check(mapped[1] as string, 'ipv4')
    return blocked.check(address, 'ipv6')
  }
  return true
}

export class PrivateAddressError extends Error {
  constructor(host: string, address: string) {
    super(
      `${host} resolves to ${address}, a private or reserved address (set WEBHOOK_ALLOW_PRIVATE=true to allow)`,
    )
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void

/** A `lookup` for http.request that refuses private addresses. */
export function guardedLookup(hostname: string, options: LookupOneOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '')
    const list = addresses as LookupAddress[]
    const refused = list.find((entry) => isPrivateAddress(entry.address))
    if (refused || list.length === 0) {
      return callback(
        new PrivateAddressError(hostname, refused?.address ?? 'nothing') as NodeJS.ErrnoException,
        '',
      )
    }
    if ((options as { all?: boolean }).all) return callback(null, list)
    const first = list[0] as LookupAddress
    callback(null, first.address, first.family)
  })
}
