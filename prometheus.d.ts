// Types of weak-tracker/prometheus (lib/prometheus.js). prom-client is an optional peer dependency.

import type { Registry } from 'prom-client'

declare const prometheus: {
  /**
   * Adds `weak_tracker_live`, `weak_tracker_tracked_total`, `weak_tracker_collected_total` and
   * `weak_tracker_sample_ratio` to `registry`, computed when it is scraped.
   * @param registry Default: prom-client's global registry.
   * @throws `code: 'ERR_WEAK_TRACKER_NO_PROM_CLIENT'` when prom-client is not installed.
   */
  register(registry?: Registry): Registry
}

export = prometheus
