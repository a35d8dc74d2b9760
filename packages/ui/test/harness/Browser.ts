/**
 * Debian's Chromium (`/usr/bin/chromium`), headless, as every browser test and the screenshots
 * script launch it (playwright-core; never a browser downloaded by `playwright install`).
 *
 * - `--no-sandbox`: the tests run as root in CI, where Chromium refuses its sandbox.
 * - `--disable-dev-shm-usage`: Chromium shares memory between its processes through `/dev/shm`,
 *   which a container often limits to 64 MB; with this flag it uses a temporary directory
 *   instead. A precaution, not a fix seen to matter: the ui tests also passed without it under a
 *   4 MB `/dev/shm` (`unshare -m`, stop 18).
 */
import { type Browser, chromium } from "playwright-core"

const executablePath = "/usr/bin/chromium"

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-dev-shm-usage"] })
