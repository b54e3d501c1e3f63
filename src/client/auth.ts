/**
 * Sessions: sign-up, sign-in, sign-out, the current user, and refresh-token rotation — before the
 * access token expires (a timer, and a check before each request) and after a 401. The session
 * lives in the app's storage, so an app restart stays signed in. A refresh the server refuses
 * (the refresh token was revoked elsewhere, reused, or expired) signs the client out cleanly and
 * says why (`SIGNED_OUT` with a reason). Instances sharing a storage read it before refreshing:
 * refresh tokens are single use, and presenting one another instance already rotated would make
 * the server revoke the whole sign-in (theft detection).
 */
import type { components } from "./api/schema";
import { HorizonError } from "./errors";
import type { HorizonStorage } from "./storage/index";

export type User = components["schemas"]["Profile"];
export type RegisterInput = components["schemas"]["RegisterRequest"];
export type Credentials = components["schemas"]["LoginRequest"];
type Tokens = components["schemas"]["Tokens"];

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
  user: User | null;
}

export type SignOutReason = "user" | "refresh_token_revoked" | "session_expired";

export type AuthEvent =
  | { type: "SIGNED_IN"; user: User | null }
  | { type: "TOKEN_REFRESHED"; expiresAt: number }
  | { type: "USER_UPDATED"; user: User }
  | { type: "SIGNED_OUT"; reason: SignOutReason; detail?: string };

export interface AuthOptions {
  storage: HorizonStorage;
  /** Storage key of the session. */
  key: string;
  /** Plain fetch through the transport, unauthenticated (auth routes). */
  post: (path: string, body: unknown) => Promise<Response>;
  getMe: (token: string) => Promise<Response>;
  /** Refresh this long before expiry. Default 60 s. */
  refreshMarginMs?: number;
  /** Refresh on a timer before expiry (default true); the check before each request stays. */
  autoRefresh?: boolean;
  now?: () => number;
}

export class Auth {
  private session: Session | null = null;
  private refreshing: Promise<string> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<(e: AuthEvent) => void>();
  private readonly now: () => number;

  constructor(private readonly options: AuthOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Reads the stored session (called once by createHorizonClient). */
  async restore(): Promise<void> {
    this.session = await this.readStored();
    this.schedule();
  }

  private async readStored(): Promise<Session | null> {
    const text = await this.options.storage.getItem(this.options.key);
    if (!text) return null;
    try {
      const s = JSON.parse(text) as Session;
      return typeof s.refreshToken === "string" && typeof s.accessToken === "string" ? s : null;
    } catch {
      return null;
    }
  }

  /** The signed-in user as last read from the server (null when signed out). */
  get user(): User | null {
    return this.session?.user ?? null;
  }

  get signedIn(): boolean {
    return this.session !== null;
  }

  get expiresAt(): number | null {
    return this.session?.expiresAt ?? null;
  }

  /** Listens to sign-in, refresh, profile and sign-out events; returns the unsubscribe. */
  onAuthStateChange(fn: (event: AuthEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(event: AuthEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(event);
      } catch {
        // a faulty listener must not break auth
      }
    }
  }

  /** Creates an account and signs in with it. */
  async register(input: RegisterInput): Promise<User> {
    const res = await this.options.post("/auth/register", input);
    if (!res.ok) throw await HorizonError.from(res);
    await this.signIn({ email: input.email, password: input.password });
    return this.user!;
  }

  async signIn(credentials: Credentials): Promise<User> {
    const res = await this.options.post("/auth/login", credentials);
    if (!res.ok) throw await HorizonError.from(res);
    await this.adopt((await res.json()) as Tokens, null);
    const user = await this.getUser();
    this.emit({ type: "SIGNED_IN", user });
    return user;
  }

  /** Reads the current user from the server (GET /me) and keeps it in the session. */
  async getUser(): Promise<User> {
    const res = await this.options.getMe(await this.getAccessToken());
    if (!res.ok) throw await HorizonError.from(res);
    const user = (await res.json()) as User;
    if (this.session) {
      const changed =
        this.session.user !== null && JSON.stringify(this.session.user) !== JSON.stringify(user);
      this.session = { ...this.session, user };
      await this.persist();
      if (changed) this.emit({ type: "USER_UPDATED", user });
    }
    return user;
  }

  /** Signs out: the server revokes the refresh token (best effort), the stored session is removed. */
  async signOut(): Promise<void> {
    const refreshToken = this.session?.refreshToken;
    if (refreshToken) await this.options.post("/auth/logout", { refreshToken }).catch(() => {});
    await this.end("user");
  }

  private async end(reason: SignOutReason, detail?: string): Promise<void> {
    const had = this.session !== null;
    this.session = null;
    this.schedule();
    await this.options.storage.removeItem(this.options.key).catch(() => {});
    if (had) this.emit({ type: "SIGNED_OUT", reason, ...(detail ? { detail } : {}) });
  }

  /** An access token valid for at least the refresh margin, refreshing first when needed. */
  async getAccessToken(): Promise<string> {
    const s = this.session;
    if (!s) throw new HorizonError("SIGNED_OUT", "not signed in");
    if (s.expiresAt - (this.options.refreshMarginMs ?? 60_000) > this.now()) return s.accessToken;
    return this.refresh();
  }

  /** Rotates the refresh token now (concurrent callers share one rotation). */
  refresh(): Promise<string> {
    this.refreshing ??= this.rotate().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** After a 401: a new token, or null once signed out. */
  async refreshAfter401(): Promise<string | null> {
    if (!this.session) return null;
    try {
      return await this.refresh();
    } catch {
      return null;
    }
  }

  private async rotate(): Promise<string> {
    const mine = this.session;
    if (!mine) throw new HorizonError("SIGNED_OUT", "not signed in");
    // Another instance sharing this storage may have rotated already: take its session.
    const stored = await this.readStored().catch(() => null);
    if (
      stored &&
      stored.refreshToken !== mine.refreshToken &&
      stored.expiresAt - (this.options.refreshMarginMs ?? 60_000) > this.now()
    ) {
      this.session = stored;
      this.schedule();
      return stored.accessToken;
    }
    const presented = stored && stored.refreshToken !== mine.refreshToken ? stored : mine;
    const res = await this.options.post("/auth/refresh", { refreshToken: presented.refreshToken });
    if (res.status === 401) {
      const err = await HorizonError.from(res);
      await this.end(err.code === "TOKEN_EXPIRED" ? "session_expired" : "refresh_token_revoked", err.message);
      throw err;
    }
    if (!res.ok) throw await HorizonError.from(res);
    await this.adopt((await res.json()) as Tokens, presented.user);
    this.emit({ type: "TOKEN_REFRESHED", expiresAt: this.session!.expiresAt });
    return this.session!.accessToken;
  }

  private async adopt(tokens: Tokens, user: User | null): Promise<void> {
    this.session = {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      expiresAt: this.now() + tokens.expiresIn * 1000,
      user,
    };
    this.schedule();
    await this.persist();
  }

  private persist(): Promise<void> {
    return this.session
      ? this.options.storage.setItem(this.options.key, JSON.stringify(this.session))
      : this.options.storage.removeItem(this.options.key);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.session || this.options.autoRefresh === false) return;
    const due = this.session.expiresAt - (this.options.refreshMarginMs ?? 60_000) - this.now();
    this.timer = setTimeout(() => void this.refresh().catch(() => {}), Math.max(0, due));
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Stops the refresh timer (the session stays stored). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
