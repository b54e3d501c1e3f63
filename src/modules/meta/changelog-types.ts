/** One release of CHANGELOG.md as the API serves it (Keep a Changelog sections). */
export interface ChangelogRelease {
  version: string;
  date: string | null;
  changes: Partial<Record<"Added" | "Changed" | "Deprecated" | "Removed" | "Fixed" | "Security", string[]>>;
}
