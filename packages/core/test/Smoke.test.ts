import { it } from "@effect/vitest"
import { Effect } from "effect"
import { expect } from "vitest"

it.effect("toolchain works", () => Effect.sync(() => expect(1 + 1).toBe(2)))
