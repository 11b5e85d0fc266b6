"""The one engine: files, prefilter, parse, module facts, rules, suppression."""
