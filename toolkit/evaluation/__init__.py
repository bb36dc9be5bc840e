"""The service standard's yearly evaluation (issue 18): figures computed by the store, the report, the
seeded history generator for its tests and benchmark, and the dashboard's metrics."""
