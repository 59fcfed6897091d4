import { and, asc, eq } from 'drizzle-orm'
import {
  events,
  ledgerEntries,
  profiles,
  purchaseChains,
  scheduledJobs,
  storeTransactions,
} from '../../src/db/schema.ts'
import type { Tenant, TestApp } from './harness.ts'
import { uniqueUserId } from './harness.ts'

/** Builders and readers shared by the purchase and event tests. */

let counter = 0
export function uniqueTransactionId(prefix = 'txn'): string {
  counter += 1
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`
}

export function subscriptionBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const id = uniqueTransactionId()
  return {
    purchase_type: 'subscription',
    store: 'app_store',
    environment: 'Production',
    store_product_id: 'com.example.monthly',
    store_transaction_id: id,
    store_original_transaction_id: id,
    price: { country: 'US', currency: 'USD', value: 9.99 },
    purchased_at: '2026-01-01T00:00:00Z',
    originally_purchased_at: '2026-01-01T00:00:00Z',
    expires_at: '2026-02-01T00:00:00Z',
    renew_status: true,
    ...overrides,
  }
}

export function oneTimeBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const id = uniqueTransactionId('otp')
  return {
    purchase_type: 'one_time_purchase',
    store: 'app_store',
    store_product_id: 'com.example.lifetime',
    store_transaction_id: id,
    store_original_transaction_id: id,
    price: { country: 'US', currency: 'USD', value: 49.99 },
    purchased_at: '2026-01-01T00:00:00Z',
    ...overrides,
  }
}

/** Creates a profile for a fresh customer user id and answers the headers that identify it. */
export async function newProfile(tenant: Tenant, customerUserId: string | null = uniqueUserId()) {
  const response = await tenant.api({
    method: 'POST',
    path: '/profile/',
    headers: customerUserId === null ? {} : { 'adapty-customer-user-id': customerUserId },
  })
  if (response.statusCode !== 200) throw new Error(`create profile failed: ${response.body}`)
  const profileId: string = response.json().data.profile_id
  return { profileId, customerUserId, headers: { 'adapty-profile-id': profileId } }
}

export async function setTransaction(tenant: Tenant, headers: Record<string, string>, body: unknown) {
  return tenant.api({ method: 'POST', path: '/purchase/set/transaction/', headers, body })
}

export async function grant(tenant: Tenant, headers: Record<string, string>, body: unknown) {
  return tenant.api({ method: 'POST', path: '/purchase/profile/grant/access-level/', headers, body })
}

export async function revoke(tenant: Tenant, headers: Record<string, string>, body: unknown) {
  return tenant.api({ method: 'POST', path: '/purchase/profile/revoke/access-level/', headers, body })
}

export interface StoredEvent {
  eventType: string
  profileSeq: number
  eventDatetime: Date
  payload: Record<string, unknown> & { event_properties: Record<string, unknown> }
}

/** The events of one profile in the order they were written. */
export async function eventsOf(h: TestApp, appId: string, profileId: string): Promise<StoredEvent[]> {
  const rows = await h.database.db
    .select()
    .from(events)
    .where(and(eq(events.appId, appId), eq(events.profileId, profileId)))
    .orderBy(asc(events.feedSeq))
  return rows.map((row) => ({
    eventType: row.eventType,
    profileSeq: Number(row.profileSeq),
    eventDatetime: row.eventDatetime,
    payload: row.payload as StoredEvent['payload'],
  }))
}

export async function eventTypesOf(h: TestApp, appId: string, profileId: string): Promise<string[]> {
  return (await eventsOf(h, appId, profileId)).map((event) => event.eventType)
}

/** GET /profile/ for the given identification headers. */
export async function getProfile(tenant: Tenant, headers: Record<string, string>) {
  return tenant.api({ method: 'GET', path: '/profile/', headers })
}

/** Adds an access level to the app through the admin API. */
export async function createAccessLevel(h: TestApp, appId: string, id: string): Promise<void> {
  const response = await h.admin({
    method: 'POST',
    url: `/admin/v1/apps/${appId}/access-levels`,
    payload: { id },
  })
  if (response.statusCode !== 201) throw new Error(`creating access level ${id} failed: ${response.body}`)
}

export interface ProductInput {
  product_id: string
  access_level_id: string
  type: 'subscription' | 'one_time' | 'consumable'
  period?: string | null
  store_products: { store: string; store_product_id: string }[]
}

/** Adds a product to the app's catalog through the admin API. */
export async function createProduct(h: TestApp, appId: string, product: ProductInput): Promise<void> {
  const response = await h.admin({
    method: 'POST',
    url: `/admin/v1/apps/${appId}/products`,
    payload: { ...product },
  })
  if (response.statusCode !== 201) throw new Error(`creating product failed: ${response.body}`)
}

/** Replaces part of the app's exchange-rate table (merged) through the admin API. */
export async function setExchangeRates(h: TestApp, appId: string, rates: Record<string, number | null>) {
  const response = await h.admin({
    method: 'PATCH',
    url: `/admin/v1/apps/${appId}/settings`,
    payload: { exchange_rates: rates },
  })
  if (response.statusCode !== 200) throw new Error(`changing exchange rates failed: ${response.body}`)
}

/** One page of the admin event feed. */
export async function feedPage(
  h: TestApp,
  appId: string,
  query: Record<string, string | number> = {},
  headers?: Record<string, string>,
) {
  const search = new URLSearchParams(
    Object.entries(query).map(([key, value]): [string, string] => [key, String(value)]),
  )
  const text = search.toString()
  return h.admin({
    method: 'GET',
    url: `/admin/v1/apps/${appId}/events${text ? `?${text}` : ''}`,
    ...(headers ? { headers } : {}),
  })
}

/**
 * Everything a purchase write can leave behind in an app, and the stored profile: two traces are equal when
 * a request changed nothing.
 */
export async function traceOf(h: TestApp, appId: string, profileId: string) {
  const db = h.database.db
  const count = async (table: typeof ledgerEntries | typeof events | typeof storeTransactions) =>
    (await db.select({ appId: table.appId }).from(table).where(eq(table.appId, appId))).length
  const chains = (
    await db
      .select({ appId: purchaseChains.appId })
      .from(purchaseChains)
      .where(eq(purchaseChains.appId, appId))
  ).length
  const jobs = (
    await db.select({ appId: scheduledJobs.appId }).from(scheduledJobs).where(eq(scheduledJobs.appId, appId))
  ).length
  return {
    ledgerEntries: await count(ledgerEntries),
    events: await count(events),
    storeTransactions: await count(storeTransactions),
    purchaseChains: chains,
    scheduledJobs: jobs,
    /** The whole stored row: projection, revenue, event sequence, updated_at. */
    profile: await h.storedProfile(appId, profileId),
  }
}

/**
 * A profile without customer user id, as an SDK creates on first launch. The server-side API always names a
 * customer user id or an existing profile, so the row is written directly.
 */
export async function anonymousProfile(h: TestApp, tenant: Tenant) {
  const profileId = h.services.ids.uuid()
  await h.database.db
    .insert(profiles)
    .values({ id: profileId, appId: tenant.appId, segmentHash: '0000000000000000' })
  return { profileId, customerUserId: null, headers: { 'adapty-profile-id': profileId } }
}
