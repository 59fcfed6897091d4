/**
 * The bundled snapshot an app's exchange-rate table starts from: US dollars per one unit of each currency.
 * Approximate mid-market rates; an operator who reports revenue in earnest replaces them with their own
 * (PATCH /admin/v1/apps/{app_id}/settings). Revenue is converted when a transaction is written, so a rate
 * change applies to later transactions only.
 */
export const BUNDLED_EXCHANGE_RATES_AS_OF = '2026-11-01'

export const BUNDLED_EXCHANGE_RATES: Readonly<Record<string, number>> = Object.freeze({
  USD: 1,
  EUR: 1.08,
  GBP: 1.27,
  JPY: 0.0066,
  CNY: 0.138,
  CAD: 0.72,
  AUD: 0.65,
  NZD: 0.59,
  CHF: 1.13,
  SEK: 0.095,
  NOK: 0.092,
  DKK: 0.145,
  PLN: 0.25,
  CZK: 0.043,
  HUF: 0.0027,
  RON: 0.217,
  TRY: 0.029,
  INR: 0.012,
  IDR: 0.000063,
  KRW: 0.00072,
  SGD: 0.74,
  HKD: 0.128,
  TWD: 0.031,
  THB: 0.029,
  MYR: 0.22,
  PHP: 0.017,
  VND: 0.000039,
  BRL: 0.18,
  MXN: 0.055,
  ARS: 0.001,
  CLP: 0.00105,
  COP: 0.00025,
  PEN: 0.27,
  ZAR: 0.055,
  EGP: 0.02,
  NGN: 0.00065,
  KES: 0.0077,
  ILS: 0.27,
  AED: 0.272,
  SAR: 0.267,
  QAR: 0.275,
  KZT: 0.002,
  UAH: 0.024,
  RUB: 0.011,
  PKR: 0.0036,
  BDT: 0.0083,
})

/** The table in force for an app: its own when the operator set one, else the bundled snapshot. */
export function effectiveExchangeRates(
  stored: Record<string, number> | null,
): Readonly<Record<string, number>> {
  return stored ?? BUNDLED_EXCHANGE_RATES
}

/** The USD value of `amount` in `currency`, or null when the table has no rate for it. */
export function toUsd(
  amount: number,
  currency: string,
  rates: Readonly<Record<string, number>>,
): number | null {
  const rate = rates[currency.toUpperCase()]
  return rate === undefined ? null : amount * rate
}
