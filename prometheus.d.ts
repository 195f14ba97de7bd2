// Types of weak-tracker/prometheus (lib/prometheus.js). prom-client is an optional peer dependency.

import type { Registry } from 'prom-client'

declare const prometheus: {
  /**
   * Adds `weak_tracker_live`, `weak_tracker_tracked_total`, `weak_tracker_collected_total` and
   * `weak_tracker_sample_ratio` to `registry`, computed when it is scraped: the same names, help
   * texts, labels and series as `metrics()`. Names that differ only in lone surrogates are one
   * series (U+FFFD), their counts summed; `tracker` numbers the live trackers of a thread from 0,
   * and a new tracker takes the smallest free number.
   * @param registry Default: prom-client's global registry.
   * @throws `code: 'ERR_WEAK_TRACKER_NO_PROM_CLIENT'` when prom-client is not installed.
   */
  register(registry?: Registry): Registry
}

export = prometheus
