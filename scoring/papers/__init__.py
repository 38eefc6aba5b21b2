"""Papers: what a result, a chain of reviews, a city's summary or a committee's rating becomes (reports,
意见表, tables, JSON, CSV, workbooks), all through the one output registry. Read only domain types."""
