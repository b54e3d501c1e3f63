/** A fixed tenant shared by the full-app bench target and the bench runner (same ids, same secret). */
export const BENCH_JWT_SECRET = "bench-secret-bench-secret-bench-secret-0000";
export const BENCH_BUILDING_ID = "00000000-0000-4000-8000-0000000000b1";
export const BENCH_MANAGER_ID = "00000000-0000-4000-8000-0000000000a1";
