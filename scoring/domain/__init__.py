"""The domain: the rubric, bundle, review and result types, the rule kinds, the input types and the engine,
a pure function from (rubric, bundle, stages) to a result. Imports only base/."""
