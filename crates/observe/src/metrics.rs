//! Metrics sink (being written).
