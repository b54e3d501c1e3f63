/**
 * Opaque refresh tokens: 32 random bytes (base64url) handed to the client once; the database keeps
 * only their SHA-256, so a leaked table cannot be replayed. SHA-256 without salt is enough here:
 * the input is 256 random bits, not a guessable password.
 */

export function newRefreshToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function hashRefreshToken(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Shape check before any lookup: 43 base64url characters. */
export const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
