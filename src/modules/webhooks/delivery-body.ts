import type { EndpointRow } from './webhooks.repository.ts'

/**
 * The body one endpoint receives for one event: the stored §6.3–6.5 payload with that endpoint's options
 * applied. It is rendered once, at a delivery's first attempt, and stored, so retries send the same bytes.
 */

export interface BodyExtras {
  /** The profile's custom attributes, for `send_user_attributes`. */
  userAttributes: { key: string; value: string | number }[] | null
  /** The trial's own price, for `send_trial_price` on trial_started. */
  trialPrice: { priceLocal: number | null; priceUsd: number | null } | null
}

export function renderDeliveryBody(
  payload: Record<string, unknown>,
  endpoint: Pick<EndpointRow, 'eventNames' | 'sendUserAttributes' | 'sendTrialPrice'>,
  extras: BodyExtras,
): string {
  const eventType = String(payload.event_type)
  const body: Record<string, unknown> = {
    ...payload,
    event_type: endpoint.eventNames[eventType] ?? eventType,
  }
  if (endpoint.sendUserAttributes) {
    body.user_attributes = Object.fromEntries(
      (extras.userAttributes ?? []).map(({ key, value }) => [key, value]),
    )
  }
  if (endpoint.sendTrialPrice && eventType === 'trial_started' && extras.trialPrice) {
    body.event_properties = {
      ...(payload.event_properties as Record<string, unknown>),
      price_local: extras.trialPrice.priceLocal,
      price_usd: extras.trialPrice.priceUsd,
    }
  }
  return JSON.stringify(body)
}
