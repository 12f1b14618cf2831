run programs/trace_annotations.gasm
