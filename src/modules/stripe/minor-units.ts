// Stripe and Paddle give amounts in the currency's minor unit: cents, whole yen, thousandths of a dinar.
const ZERO_DECIMAL = new Set('BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF'.split(' '))
const THREE_DECIMAL = new Set('BHD JOD KWD OMR TND'.split(' '))

/** An amount in minor units as a price in the currency's major unit. */
export function amountOf(minorUnits: number, currency: string): number {
  const code = currency.toUpperCase()
  const divisor = ZERO_DECIMAL.has(code) ? 1 : THREE_DECIMAL.has(code) ? 1000 : 100
  return minorUnits / divisor
}
