export interface User {
  id: string;
  email: string;
  name: string;
}

export interface Payment {
  id: string;
  userId: string;
  amountCents: number;
  currency: string;
}

export function isUser(value: unknown): value is User {
  const v = value as User;
  return typeof v === "object" && v !== null && typeof v.id === "string" && typeof v.email === "string";
}
