/**
 * The toolkit of relais' sandboxes, for plugins that ship a simulator of their service: an HTTP
 * server on 127.0.0.1 with admin routes (`SandboxServer`), fault rules (`Faults`), a request log,
 * deterministic data (`Prng`, `Names`, `Siret`) and data kept in a file (`StateFile`). It is
 * `@relais/sandbox-kit`, re-exported here so that a plugin depends on `@relais/core` alone.
 *
 * Import it from `@relais/core/SandboxKit` (not from the `@relais/core` barrel: a command that
 * runs no sandbox never loads it).
 *
 * @since 0.1.0
 */
export * from "@relais/sandbox-kit"
