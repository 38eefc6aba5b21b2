"""Jobs: what one command does beyond scoring (the city's summary, the committee's rating, a blank bundle,
a rubric's own tests), each on top of the pipeline. No job imports another."""
