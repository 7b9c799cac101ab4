// genotel report pages: inflate the embedded plotly.js, draw the plots, sort and filter the table.
"use strict";
(function () {
  const errors = [];
  window.genotelErrors = errors;
  window.addEventListener("error", (event) => errors.push(String(event.message)));
  window.addEventListener("unhandledrejection", (event) => errors.push(String(event.reason)));
  const data = JSON.parse(document.getElementById("genotel-data").textContent);
  const state = { sortKey: null, descending: false, text: "", dataType: "", limit: data.limit || 0 };

  async function loadPlotly() {
    const binary = atob(document.getElementById("plotly-gz").textContent.trim());
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const script = document.createElement("script");
    script.textContent = await new Response(stream).text();
    document.head.appendChild(script);
  }

  // A per-file plot's traces cut to the shown files, in the table's order. `plot.rows[t][i]` is the
  // file of point (or heat-map row) i of trace t; its y is the file's label (plus a per-row suffix).
  function picked(plot, order) {
    const position = new Map(order.map((file, index) => [file, index]));
    const categories = [];
    const traces = plot.figure.data.map((trace, t) => {
      const rows = plot.rows[t];
      const suffix = plot.suffixes ? plot.suffixes[t] : null;
      const kept = [];
      rows.forEach((file, row) => { if (position.has(file)) kept.push(row); });
      kept.sort((a, b) => position.get(rows[a]) - position.get(rows[b]) || a - b);
      const copy = Object.assign({}, trace);
      for (const key of plot.row_keys) {
        if (Array.isArray(trace[key])) copy[key] = kept.map((row) => trace[key][row]);
      }
      copy.y = kept.map((row) => data.table.rows[rows[row]].label + (suffix ? suffix[row] : ""));
      kept.forEach((row, index) => categories.push([position.get(rows[row]), row, copy.y[index]]));
      if (plot.drop_empty_columns) dropEmptyColumns(copy);
      return copy;
    });
    categories.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const labels = [...new Set(categories.map((item) => item[2]))];
    // A left margin from the longest label: plotly's automargin would lay the plot out twice.
    const yaxis = Object.assign({}, plot.figure.layout.yaxis, { categoryorder: "array", categoryarray: labels,
                                                                automargin: false });
    const widest = labels.reduce((most, label) => Math.max(most, label.length), 0);
    const margin = Object.assign({}, plot.figure.layout.margin, { l: Math.min(420, 20 + 7 * widest) });
    const height = plot.base_height + plot.row_height * labels.length;
    return { traces, layout: Object.assign({}, plot.figure.layout, { height, yaxis, margin }) };
  }

  // A heat map without the columns that no shown row has a value in.
  function dropEmptyColumns(trace) {
    if (!Array.isArray(trace.z) || !Array.isArray(trace.x)) return;
    const columns = trace.x.map((_, column) => column).filter((column) =>
      trace.z.some((row) => row[column] !== null && row[column] !== undefined));
    trace.x = columns.map((column) => trace.x[column]);
    for (const key of ["z", "customdata"]) {
      if (Array.isArray(trace[key])) trace[key] = trace[key].map((row) => columns.map((column) => row[column]));
    }
  }

  function layoutOf(layout) {
    return Object.assign({}, layout, { template: data.template });
  }

  const config = { displaylogo: false, responsive: true };

  async function drawPlot(plot, order) {
    const element = document.getElementById(plot.id);
    if (plot.rows) {
      const { traces, layout } = picked(plot, order);
      await window.Plotly.react(element, traces, layoutOf(layout), config);
    } else {
      await window.Plotly.react(element, plot.figure.data, layoutOf(plot.figure.layout), config);
    }
  }

  function cellText(row, column) {
    const value = row[column.key];
    if (value === null || value === undefined) return "";
    if (column.kind === "bytes") return value.toLocaleString("en");
    return String(value);
  }

  function compare(column) {
    return (a, b) => {
      const x = data.table.rows[a][column.key], y = data.table.rows[b][column.key];
      if (x === y) return a - b;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return state.descending ? -order : order;
    };
  }

  // Indices of the table rows that pass the filters, in the chosen order.
  function visibleOrder() {
    const table = data.table;
    const needle = state.text.toLowerCase();
    let order = table.rows.map((_, index) => index).filter((index) => {
      const row = table.rows[index];
      if (state.dataType && row.data_type !== state.dataType) return false;
      if (!needle) return true;
      return table.columns.some((column) => cellText(row, column).toLowerCase().includes(needle));
    });
    const column = table.columns.find((c) => c.key === state.sortKey);
    if (column) order = order.slice().sort(compare(column));
    return order;
  }

  function renderTable(order) {
    const table = data.table;
    const body = document.querySelector("#files tbody");
    const rows = order.map((index) => {
      const tr = document.createElement("tr");
      if (table.rows[index].flagged_any) tr.className = "flagged";
      for (const column of table.columns) {
        const td = document.createElement("td");
        td.textContent = cellText(table.rows[index], column);
        if (column.kind !== "text") td.className = "number";
        tr.appendChild(td);
      }
      return tr;
    });
    body.replaceChildren(...rows);
    document.getElementById("shown").textContent =
      `${order.length} of ${table.rows.length} ${table.noun || "files"}` +
      (state.limit && order.length > state.limit ? `; plots show the first ${state.limit}` : "");
  }

  function renderIssues(order) {
    const list = document.getElementById("issues-list");
    if (!list) return;
    const items = [];
    for (const index of order) {
      const issues = data.issues[index];
      if (!issues || !issues.length) continue;
      const item = document.createElement("li");
      const name = document.createElement("strong");
      name.textContent = data.table.rows[index].label;
      const inner = document.createElement("ul");
      for (const text of issues) {
        const line = document.createElement("li");
        line.textContent = text;
        inner.appendChild(line);
      }
      item.append(name, inner);
      items.push(item);
    }
    list.replaceChildren(...items);
    document.getElementById("issues-none").hidden = items.length > 0;
  }

  async function update() {
    if (!data.table) return;
    const order = visibleOrder();
    renderTable(order);
    renderIssues(order);
    const shown = state.limit ? order.slice(0, state.limit) : order;
    for (const plot of data.plots.filter((p) => p.rows)) await drawPlot(plot, shown);
    document.body.dataset.updated = "true";
  }

  function wireControls() {
    if (!data.table) return;
    const head = document.querySelector("#files thead tr");
    for (const column of data.table.columns) {
      const th = document.createElement("th");
      th.textContent = column.label;
      th.title = "sort";
      th.addEventListener("click", () => {
        state.descending = state.sortKey === column.key ? !state.descending : column.kind !== "text";
        state.sortKey = column.key;
        update();
      });
      head.appendChild(th);
    }
    const select = document.getElementById("data-type");
    for (const name of data.data_types) select.add(new Option(name, name));
    select.addEventListener("change", () => { state.dataType = select.value; update(); });
    const text = document.getElementById("filter");
    text.addEventListener("input", () => { state.text = text.value; update(); });
    const limit = document.getElementById("limit");
    if (!limit) return;
    limit.value = String(state.limit);
    limit.addEventListener("change", () => { state.limit = Number(limit.value); update(); });
  }

  async function main() {
    wireControls();
    await loadPlotly();
    for (const plot of data.plots.filter((p) => !p.rows)) await drawPlot(plot, []);
    await update();
    document.body.dataset.renderMs = String(Math.round(performance.now()));  // since navigation started
    document.body.dataset.rendered = "true";
  }

  main().catch((error) => {
    errors.push(String(error));
    document.body.dataset.rendered = "failed";
  });
})();
