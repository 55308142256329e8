{% from "worker/_strings.html" import worker_strings with context -%}
// The strings every worker page shares, in this visitor's language (lib/ui.js reads them).
self.outreachWorkerStrings = {{ worker_strings|tojson }};
