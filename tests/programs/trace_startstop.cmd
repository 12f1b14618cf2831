run programs/trace_startstop.gasm build/trace_startstop.trace
