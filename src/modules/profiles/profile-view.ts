import type { ProfileEntitlements } from '../entitlements/entitlement-model.ts'
import { renderEntitlements } from '../entitlements/render-entitlements.ts'
import type { WireProfile } from './profile-response.schemas.ts'
import type { ProfileView } from './profiles.repository.ts'

/**
 * The wire profile, read from the stored row as-is: access_levels, subscriptions and non_subscriptions come
 * from the entitlement projection kept on write, rendered for the moment of the request.
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
    ...renderEntitlements(row.entitlements as ProfileEntitlements, now),
  }
}
