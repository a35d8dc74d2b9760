/**
 * @since 0.1.0
 */
export * as Postgres from "./Postgres.js"
