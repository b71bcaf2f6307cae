//! Latency buckets for endpoint health. Attempt durations are counted per bucket per hour
//! (table endpoint_health_hourly), so p50/p95 over a day or a week come from a few dozen rows
//! instead of millions of attempts.

/// Upper bounds in milliseconds; the last bucket holds everything slower.
pub const BUCKET_BOUNDS_MS: [u32; 9] = [25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];
pub const BUCKETS: usize = BUCKET_BOUNDS_MS.len() + 1;

pub fn bucket_of(duration_ms: u32) -> usize {
    BUCKET_BOUNDS_MS
        .iter()
        .position(|bound| duration_ms <= *bound)
        .unwrap_or(BUCKET_BOUNDS_MS.len())
}

/// The bucket bound at or below which `quantile` (0..1) of the attempts finished; `None` without
/// data. Slower than the last bound reads as that bound (shown as "> 10 s").
pub fn quantile_ms(counts: &[i64], quantile: f64) -> Option<u32> {
    let total: i64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let target = (quantile.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (index, count) in counts.iter().enumerate() {
        seen += count;
        if seen >= target {
            return Some(
                *BUCKET_BOUNDS_MS
                    .get(index)
                    .unwrap_or(&BUCKET_BOUNDS_MS[BUCKET_BOUNDS_MS.len() - 1]),
            );
        }
    }
    BUCKET_BOUNDS_MS.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_into_buckets() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(25), 0);
        assert_eq!(bucket_of(26), 1);
        assert_eq!(bucket_of(10_000), 8);
        assert_eq!(bucket_of(60_000), 9);
    }

    #[test]
    fn quantiles_read_from_counts() {
        let mut counts = [0i64; BUCKETS];
        assert_eq!(quantile_ms(&counts, 0.5), None);
        counts[bucket_of(20)] = 90;
        counts[bucket_of(400)] = 10;
        assert_eq!(quantile_ms(&counts, 0.5), Some(25));
        assert_eq!(quantile_ms(&counts, 0.95), Some(500));
    }
}
