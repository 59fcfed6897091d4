import type { WireProfile } from './profile-response.schemas.ts'
import type { ProfileView } from './profiles.repository.ts'

/**
 * The wire profile, read from the stored row as-is. access_levels, subscriptions and non_subscriptions are
 * the entitlement projection, which the entitlement engine (a later module) keeps on write; until a
 * profile has purchases or grants they are empty lists, never null.
 */
export function toWireProfile(row: ProfileView, now: Date): WireProfile {
  return {
    app_id: row.appId,
    profile_id: row.id,
    customer_user_id: row.customerUserId,
    total_revenue_usd: row.totalRevenueUsd,
    segment_hash: row.segmentHash,
    timestamp: now.getTime(),
    custom_attributes: row.customAttributes,
    access_levels: [],
    subscriptions: [],
    non_subscriptions: [],
  }
}
