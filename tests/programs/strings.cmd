run programs/strings.gasm
