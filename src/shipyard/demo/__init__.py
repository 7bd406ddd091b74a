"""``shipyard demo``: the whole flow on a throw-away platform, step by step, no cluster needed."""
