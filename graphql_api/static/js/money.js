// Amounts as the console shows them, exactly: yuan with at most two decimals, counted in cents.

/** Cents, exactly: amounts are yuan with at most two decimals. */
export function cents(amount) {
  return Math.round(Number(amount) * 100);
}

/** Cents as yuan with thousands separated: 30,000.00. */
export function yuan(centsValue) {
  const negative = centsValue < 0;
  const abs = Math.abs(centsValue);
  const whole = Math.floor(abs / 100).toLocaleString("en-US");
  const frac = String(abs % 100).padStart(2, "0");
  return `${negative ? "-" : ""}${whole}.${frac}`;
}
