import type { User } from "__SCOPE__/common-types";
import { retry } from "__SCOPE__/utils";

export class ApiClient {
  constructor(private readonly baseUrl: string) {}

  url(path: string): string {
    return new URL(path, this.baseUrl).toString();
  }

  async getUser(id: string): Promise<User> {
    return retry(3, async () => {
      const res = await fetch(this.url(`/users/${encodeURIComponent(id)}`));
      if (!res.ok) throw new Error(`GET user ${id}: ${res.status}`);
      return (await res.json()) as User;
    });
  }
}
