import type { Payment } from "__SCOPE__/common-types";

export function formatAmount(payment: Payment): string {
  const units = (payment.amountCents / 100).toFixed(2);
  return `${units} ${payment.currency}`;
}

export async function retry<T>(attempts: number, fn: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
