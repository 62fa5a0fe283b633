//! How `mavfsctl bench` writes its figures: latencies, rates, counts and ratios.

pub fn latency(us: f64) -> String {
    if us < 1e3 {
        format!("{us:.1} µs")
    } else if us < 1e6 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

pub fn mb_per_s(v: f64) -> String {
    if v < 100.0 {
        format!("{v:.1} MB/s")
    } else {
        format!("{v:.0} MB/s")
    }
}

/// A count with a k/M suffix: `69.9k`.
pub fn count(v: f64) -> String {
    if v < 1e3 {
        format!("{v:.0}")
    } else if v < 1e6 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{:.2}M", v / 1e6)
    }
}

pub fn per_s(v: f64) -> String {
    format!("{}/s", count(v))
}

pub fn iops(v: f64) -> String {
    format!("{} IOPS", count(v))
}

pub fn ratio(r: f64) -> String {
    if r < 1.0 {
        format!("{r:.2}×")
    } else if r < 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.0}×")
    }
}
