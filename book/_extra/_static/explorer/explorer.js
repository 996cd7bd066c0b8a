/* The book's explorers: interactive figures over the measurements the book's
 * build made, drawn in the page without a kernel.
 *
 * kernels/bench/explorer.py writes each explorer into the page as a
 * .sx-explorer element holding its configuration and data as JSON, followed by
 * a loader that brings uPlot (../uplot/) and this file once per page and calls
 * SoftmaxExplorers.render(element).  Two kinds:
 *   "lines"  : series of a long-format table, with controls for the series,
 *              the measure, the facets (any other column that splits a series),
 *              the x range, log axes, the baseline of a speedup, roofs, a CSV
 *              download and a file picker that overlays a reader's own sweep;
 *   "extexp" : the kernels' ExtExp evaluated step by step in exact float32
 *              arithmetic (fma32 below) for any x the reader types.
 * Each rendered element gets element.sxExplorer, whose state() is what the
 * browser tests read back (tests/test_rendered_html.py).
 * Written for this book; it needs nothing but uPlot. */
(function () {
  "use strict";

  /* ------------------------------------------------------------ DOM */

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of [].concat(children || [])) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function labelled(text, control) {
    return el("label", { class: "sx-field" }, [el("span", { text }), control]);
  }

  // Every control carries data-control="<what it sets>" (the browser tests find them by it).
  function select(name, options, value, onchange) {
    const node = el("select", { "data-control": name, onchange: () => onchange(node.value) },
      options.map(([v, text]) => el("option", { value: v, text })));
    node.value = value;
    return node;
  }

  function checkbox(name, text, checked, onchange, swatch) {
    const box = el("input", { type: "checkbox", "data-control": name, onchange: () => onchange(box.checked) });
    box.checked = checked;
    const parts = [box];
    if (swatch) parts.push(el("span", { class: "sx-swatch", style: `background:${swatch}` }));
    parts.push(el("span", { text }));
    return el("label", { class: "sx-check" }, parts);
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  /* ------------------------------------------------------ float32, exactly */

  // The kernels run with FTZ and DAZ (kernels/csrc/driver.c): subnormal inputs
  // read as zero and subnormal results are flushed to zero.
  const SMALLEST_NORMAL = 2 ** -126;
  const flush = v => (v !== 0 && Math.abs(v) < SMALLEST_NORMAL ? (v < 0 ? -0 : 0) : v);
  // One float32 operation: + - * of float32s computed in double and rounded to
  // float32 is correctly rounded (53 >= 2 * 24 + 2), so Math.fround suffices.
  const f32 = v => flush(Math.fround(v));
  const add32 = (a, b) => f32(flush(a) + flush(b));
  const sub32 = (a, b) => f32(flush(a) - flush(b));
  const mul32 = (a, b) => f32(flush(a) * flush(b));

  const doubleView = new Float64Array(1);
  const doubleBits = new BigUint64Array(doubleView.buffer);
  const floatView = new Float32Array(1);
  const floatBits = new Uint32Array(floatView.buffer);

  // The double nearest to s + err (s = RN(exact), err = exact - s exactly)
  // rounded to odd: if inexact and s's last bit is even, the neighbour of s
  // towards the exact value.  Rounding a round-to-odd double (53 bits) to
  // float32 (24 bits) gives the correctly rounded float32 (Boldo & Melquiond,
  // "Emulation of FMA and correctly rounded sums", IEEE TC 2008).
  function roundToOdd(s, err) {
    if (err === 0 || !Number.isFinite(s)) return s;
    doubleView[0] = s;
    if ((doubleBits[0] & 1n) === 1n) return s;
    if ((err > 0) === (s > 0)) doubleBits[0] += 1n;  // away from zero
    else doubleBits[0] -= 1n;  // towards zero
    return doubleView[0];
  }

  // fmaf(a, b, c) for float32 a, b, c, exactly as the kernels compute it: a*b is
  // exact in double (two 24-bit significands); a*b + c is split into its rounded
  // sum and the exact error (Knuth's TwoSum), rounded to odd, then to float32.
  function fma32(a, b, c) {
    a = flush(a); b = flush(b); c = flush(c);
    const product = a * b;
    const sum = product + c;
    if (!Number.isFinite(sum)) return Math.fround(sum);
    const virtualC = sum - product;
    const err = (product - (sum - virtualC)) + (c - virtualC);
    return f32(roundToOdd(sum, err));
  }

  function bitsOf32(v) {
    floatView[0] = v;
    return floatBits[0];
  }

  function hex32(v) {
    return "0x" + bitsOf32(v).toString(16).toUpperCase().padStart(8, "0");
  }

  function fields32(v) {
    const b = bitsOf32(v).toString(2).padStart(32, "0");
    return `${b[0]} ${b.slice(1, 9)} ${b.slice(9)}`;
  }

  // The shortest decimal that reads back as this float32.
  function shortest32(v) {
    if (!Number.isFinite(v)) return String(v);
    if (v === 0) return Object.is(v, -0) ? "-0" : "0";
    for (let digits = 1; digits <= 9; digits++) {
      const text = v.toPrecision(digits);
      if (Math.fround(Number(text)) === v) return String(Number(text));
    }
    return String(v);
  }

  // ExtExp of kernels/csrc/exp_common.h (v_extexp_times with scale 1), step by
  // step, with the constants of kernels/csrc/exp_constants.h (K).
  function extexp(x, K) {
    x = f32(x);
    const biased = fma32(x, K.EXP_LOG2E, K.EXP_MAGIC_BIAS);
    const n = sub32(biased, K.EXP_MAGIC_BIAS);
    let t = fma32(n, K.EXP_MINUS_LN2_HI, x);
    t = fma32(n, K.EXP_MINUS_LN2_LO, t);
    const one = 1;  // the scale, folded into the coefficients: c * 1 is exact
    let p = fma32(mul32(K.EXP_C5, one), t, mul32(K.EXP_C4, one));
    p = fma32(p, t, mul32(K.EXP_C3, one));
    p = fma32(p, t, mul32(K.EXP_C2, one));
    p = fma32(p, t, mul32(K.EXP_C1, one));
    const m = fma32(p, t, one);
    return { x, n, t, m };
  }

  /* ------------------------------------------------------------ numbers */

  const SUPERSCRIPTS = { "-": "\u207b", 0: "\u2070", 1: "\u00b9", 2: "\u00b2", 3: "\u00b3", 4: "\u2074",
    5: "\u2075", 6: "\u2076", 7: "\u2077", 8: "\u2078", 9: "\u2079" };
  const superscript = k => String(k).split("").map(c => SUPERSCRIPTS[c]).join("");

  function formatNumber(v, digits) {
    if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return "\u2013";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString("en-US");
    if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(digits - 1);
    return String(Number(v.toPrecision(digits)));
  }

  function formatX(v, format) {
    if (format === "pow2" && v > 0 && Number.isInteger(Math.log2(v))) return "2" + superscript(Math.log2(v));
    return formatNumber(v, 6);
  }

  function formatPower(v) {
    const k = Math.round(Math.log10(v));
    return Math.abs(v / 10 ** k - 1) < 1e-9 && Math.abs(k) > 3 ? "10" + superscript(k) : formatNumber(v, 3);
  }

  function median(values) {
    const sorted = values.slice().sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  /* ------------------------------------------------------------- tables */

  function rowsOf(columns) {
    const names = Object.keys(columns);
    const count = names.length ? columns[names[0]].length : 0;
    const rows = [];
    for (let i = 0; i < count; i++) {
      const row = {};
      for (const name of names) row[name] = columns[name][i];
      rows.push(row);
    }
    return rows;
  }

  function distinct(values) {
    return [...new Set(values)];
  }

  function csvField(value) {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value)) value = value.map(v => (v === null ? "" : String(v))).join(" ");
    const text = String(value);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  function toCsv(rows, names) {
    return [names.map(csvField).join(",")]
      .concat(rows.map(row => names.map(name => csvField(row[name])).join(",")))
      .join("\n") + "\n";
  }

  /* -------------------------------------------------------- lines: model */

  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf"];
  const BOOK = "book";

  class LinesExplorer {
    constructor(root, config) {
      this.root = root;
      this.cfg = config;
      this.names = Object.keys(config.data);
      this.bookRows = rowsOf(config.data).map(row => Object.assign(row, { source: BOOK }));
      this.loaded = null;  // {rows, machine, file}
      this.facets = config.facets.slice();
      const measures = config.measures.map(m => m.column);
      this.state = {
        measure: measures.includes(config.measure) ? config.measure : measures[0],
        baseline: config.baseline || "",
        facet: {},
        xLog: config.x.log > 0,
        yLog: !!config.yLog,
        roofs: false,
        selected: new Set(config.selected || distinct(this.bookRows.map(r => r[config.label]))),
      };
      this.resetFacets();
      const xs = this.xValues();
      this.state.xFrom = xs[0];
      this.state.xTo = xs[xs.length - 1];
      this.plot = null;
      this.build();
      this.update();
      if (typeof ResizeObserver !== "undefined") {
        let width = this.plotBox.clientWidth;
        new ResizeObserver(() => {
          if (Math.abs(this.plotBox.clientWidth - width) > 4) { width = this.plotBox.clientWidth; this.draw(); }
        }).observe(this.plotBox);
      }
    }

    rows() {
      return this.loaded ? this.bookRows.concat(this.loaded.rows) : this.bookRows;
    }

    sources() {
      return this.loaded ? [BOOK, this.loaded.name] : [BOOK];
    }

    // The x values of the rows at the chosen facet values (a protocol has
    // its own sizes), so that every size offered plots something.
    xValues() {
      const chosen = this.facets.filter(f => f !== this.cfg.slider && this.state.facet[f] !== "*");
      const rows = this.rows().filter(r => chosen.every(f => r[f] === this.state.facet[f]));
      return distinct(rows.map(r => r[this.cfg.x.column])).filter(v => v !== null).sort((a, b) => a - b);
    }

    // The size range's menu entries: [value, label] of each x value.
    xOptions() {
      return this.xValues().map(v => [String(v), formatX(v, this.cfg.x.format)]);
    }

    // A facet chosen from its menu: the size range offers the new rows' sizes,
    // all of them (the menus stay the same elements, and keep the focus).
    facetChanged() {
      const xs = this.xValues();
      this.state.xFrom = xs[0];
      this.state.xTo = xs[xs.length - 1];
      const { xFrom, xTo } = this.control;
      if (xFrom) {
        for (const node of [xFrom, xTo]) node.replaceChildren(...this.xOptions().map(([value, text]) => el("option", { value, text })));
        xFrom.value = String(this.state.xFrom);
        xTo.value = String(this.state.xTo);
      }
      this.update();
    }

    facetValues(facet) {
      return distinct(this.rows().map(r => (r[facet] === undefined ? null : r[facet])))
        .sort((a, b) => (typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b))));
    }

    resetFacets() {
      for (const facet of this.facets) {
        const values = this.facetValues(facet);
        const wanted = this.cfg.facetDefaults[facet];
        if (!(facet in this.state.facet) || (this.state.facet[facet] !== "*" && !values.includes(this.state.facet[facet]))) {
          this.state.facet[facet] = values.includes(wanted) ? wanted : values[0];
        }
      }
    }

    baseLabels() {
      return distinct(this.rows().map(r => r[this.cfg.label]));
    }

    // The columns that split a base label into several lines: facets shown
    // "each", and the source once a reader's file is loaded.
    splits() {
      const columns = this.facets.filter(f => this.state.facet[f] === "*");
      if (this.loaded) columns.push("source");
      return columns;
    }

    seriesLabel(row) {
      const parts = [String(row[this.cfg.label])];
      for (const column of this.splits()) {
        if (column === "source") parts.push(row.source === BOOK ? this.cfg.machine.label : this.loaded.name);
        else parts.push(`${column} ${row[column]}`);
      }
      return parts.join(" \u00b7 ");
    }

    splitKey(row) {
      return JSON.stringify(this.splits().map(c => row[c]));
    }

    inView(row) {
      const x = row[this.cfg.x.column];
      if (x === null || x < this.state.xFrom || x > this.state.xTo) return false;
      return this.facets.every(f => this.state.facet[f] === "*" || row[f] === this.state.facet[f]);
    }

    // Time(series) / time(baseline) at one x, round by round when both carry
    // per-round times (as analysis.paired_ratio), else the ratio of medians.
    ratio(row, base) {
      const rounds = this.cfg.rounds;
      if (rounds && Array.isArray(row[rounds]) && Array.isArray(base[rounds])) {
        const pairs = [];
        row[rounds].forEach((v, r) => {
          const b = base[rounds][r];
          if (v !== null && b !== null && b !== undefined) pairs.push(v / b);
        });
        if (pairs.length) return median(pairs);
      }
      const t = this.cfg.time;
      return row[t] !== null && base[t] ? row[t] / base[t] : null;
    }

    measureOf(column) {
      return this.cfg.measures.find(m => m.column === column);
    }

    // The series to draw: [{label, base, source, kind, color, dash, points: [{x, y, row}]}]
    series() {
      const cfg = this.cfg, state = this.state, xcol = cfg.x.column;
      const visible = this.rows().filter(r => this.inView(r));
      const groups = new Map();
      for (const row of visible) {
        if (!state.selected.has(row[cfg.label])) continue;
        const label = this.seriesLabel(row);
        if (!groups.has(label)) groups.set(label, { label, base: row[cfg.label], source: row.source, rows: [] });
        groups.get(label).rows.push(row);
      }
      let baselineAt = null;
      if (state.baseline) {
        baselineAt = new Map();
        for (const row of visible) {
          if (row[cfg.label] === state.baseline) baselineAt.set(this.splitKey(row) + "@" + row[xcol], row);
        }
      }
      const measure = this.measureOf(state.measure);
      const out = [];
      for (const group of groups.values()) {
        group.rows.sort((a, b) => a[xcol] - b[xcol]);
        const style = this.styleOf(group);
        if (baselineAt) {
          if (group.base === state.baseline) continue;
          const points = group.rows.map(row => {
            const base = baselineAt.get(this.splitKey(row) + "@" + row[xcol]);
            return { x: row[xcol], y: base ? this.ratio(row, base) : null, row, base: base || null };
          });
          out.push(Object.assign({}, style, { label: group.label, base: group.base, source: group.source, points }));
          continue;
        }
        out.push(Object.assign({}, style, { label: group.label, base: group.base, source: group.source,
          points: group.rows.map(row => ({ x: row[xcol], y: row[measure.column], row })) }));
        if (state.roofs && measure.roof) {
          const points = group.rows.map(row => ({ x: row[xcol], y: row[measure.roof], row }));
          if (points.some(p => p.y !== null)) {
            out.push(Object.assign({}, style, { label: group.label + " (roof)", base: group.base, source: group.source,
              roofOf: group.label, dash: [6, 4], width: 1, points }));
          }
        }
      }
      return out.map(s => Object.assign(s, { points: s.points.map(p => (state.yLog && !(p.y > 0) ? Object.assign({}, p, { y: null }) : p)) }));
    }

    colorOf(label) {
      const given = this.cfg.styles[label] || {};
      return given.color || PALETTE[Math.max(0, this.baseLabels().indexOf(label)) % PALETTE.length];
    }

    styleOf(group) {
      const given = this.cfg.styles[group.base] || {};
      const style = { color: this.colorOf(group.base), dash: given.dash || [],
        kind: given.kind || "line", width: 2, hollow: !!given.hollow };
      if (group.source !== BOOK) Object.assign(style, { width: 1.25, hollow: true });
      return style;
    }

    yLabel() {
      if (this.state.baseline) return `speedup of ${this.state.baseline}`;
      return this.measureOf(this.state.measure).label;
    }

    /* ------------------------------------------------------ lines: view */

    build() {
      const cfg = this.cfg;
      this.root.replaceChildren();
      this.root.classList.add("sx-ready");
      this.root.append(el("div", { class: "sx-title", text: cfg.title }));
      if (cfg.note) this.root.append(el("div", { class: "sx-note", text: cfg.note }));
      this.controls = el("div", { class: "sx-controls" });
      this.seriesBox = el("div", { class: "sx-series" });
      this.plotBox = el("div", { class: "sx-plot" });
      this.tooltip = el("div", { class: "sx-tooltip", role: "status", hidden: true });
      this.readoutBox = el("div", { class: "sx-readout" });
      this.machinesBox = el("div", { class: "sx-machines" });
      this.footer = el("div", { class: "sx-footer" });
      this.plotBox.append(this.tooltip);
      this.root.append(this.controls, el("div", { class: "sx-body" }, [this.seriesBox, this.plotBox]),
        this.readoutBox, this.machinesBox, this.footer);
      this.buildControls();
      this.buildSeries();
      this.buildFooter();
    }

    buildControls() {
      const cfg = this.cfg, state = this.state;
      this.controls.replaceChildren();
      const c = this.control = {};
      if (cfg.measures.length > 1) {
        c.measure = labelled("measure", select("measure", cfg.measures.map(m => [m.column, m.label]), state.measure,
          v => { state.measure = v; this.update(); }));
        this.controls.append(c.measure);
      }
      if (cfg.time) {
        c.baseline = labelled("speedup of", select("baseline", [["", "none: absolute values"]].concat(
          this.baseLabels().map(l => [l, l])), state.baseline, v => { state.baseline = v; this.update(); }));
        this.controls.append(c.baseline);
      }
      c.roofs = checkbox("roofs", "roofs (dashed)", state.roofs, v => { state.roofs = v; this.update(); });
      this.controls.append(c.roofs);
      for (const facet of this.facets) {
        const values = this.facetValues(facet);
        if (values.length < 2) continue;
        if (facet === cfg.slider) {
          const value = () => values[Number(range.value)];
          const readout = el("output", { text: formatNumber(state.facet[facet], 4) });
          const range = el("input", { type: "range", min: 0, max: values.length - 1, step: 1, "data-control": `facet:${facet}`,
            "aria-label": cfg.sliderLabel || facet,
            oninput: () => { state.facet[facet] = value(); readout.textContent = formatNumber(value(), 4); this.update(); } });
          range.value = String(Math.max(0, values.indexOf(state.facet[facet])));
          this.controls.append(el("label", { class: "sx-field sx-slider" }, [el("span", { text: cfg.sliderLabel || facet }), range, readout]));
          continue;
        }
        const options = values.map(v => [JSON.stringify(v), String(v)]).concat([['"*"', "each, one line per value"]]);
        this.controls.append(labelled(facet, select(`facet:${facet}`, options, JSON.stringify(state.facet[facet]), v => {
          state.facet[facet] = JSON.parse(v); this.facetChanged();
        })));
      }
      if (cfg.x.range) {
        const xs = this.xOptions();
        const from = select("x-from", xs, String(state.xFrom), v => { state.xFrom = Number(v); if (state.xTo < state.xFrom) { state.xTo = state.xFrom; to.value = v; } this.update(); });
        const to = select("x-to", xs, String(state.xTo), v => { state.xTo = Number(v); if (state.xFrom > state.xTo) { state.xFrom = state.xTo; from.value = v; } this.update(); });
        this.controls.append(labelled(`${cfg.x.column} from`, from), labelled("to", to));
        Object.assign(c, { xFrom: from, xTo: to });
      }
      if (cfg.x.logToggle) {
        this.controls.append(checkbox("x-log", `log ${cfg.x.column} axis`, state.xLog, v => { state.xLog = v; this.update(); }));
      }
      this.controls.append(checkbox("y-log", "log y axis", state.yLog, v => { state.yLog = v; this.update(); }));
    }

    buildSeries() {
      const cfg = this.cfg, state = this.state;
      this.seriesBox.replaceChildren();
      const labels = this.baseLabels();
      const groupOf = label => {
        const row = this.rows().find(r => r[cfg.label] === label);
        return cfg.groupBy ? row[cfg.groupBy] : "";
      };
      for (const group of distinct(labels.map(groupOf))) {
        const members = labels.filter(l => groupOf(l) === group);
        const boxes = members.map(label => checkbox(`series:${label}`, label, state.selected.has(label), v => {
          if (v) state.selected.add(label); else state.selected.delete(label);
          this.update();
        }, this.colorOf(label)));
        const toggle = el("button", { type: "button", class: "sx-all", "data-control": `group:${group}`, text: "all / none", onclick: () => {
          const all = members.every(l => state.selected.has(l));
          members.forEach(l => (all ? state.selected.delete(l) : state.selected.add(l)));
          this.buildSeries();
          this.update();
        } });
        const legend = el("legend", {}, [el("span", { text: cfg.groupLabels[group] || group || "series" }), members.length > 1 ? toggle : null]);
        this.seriesBox.append(el("fieldset", { class: "sx-group" }, [legend, el("div", { class: "sx-items" }, boxes)]));
      }
    }

    buildFooter() {
      const cfg = this.cfg;
      this.footer.replaceChildren();
      this.download = el("a", { class: "sx-download", download: `${cfg.name}.csv`, href: "#",
        text: "download the data (CSV)", onclick: () => { this.download.href = this.csvHref(); } });
      this.download.href = this.csvHref();
      const parts = [this.download];
      if (cfg.source) parts.push(el("span", { class: "sx-source", text: ` measured by this build, saved in ${cfg.source}` }));
      if (cfg.compare) {
        const input = el("input", { type: "file", accept: ".json,application/json", "data-control": "file",
          onchange: () => input.files.length && this.loadFile(input.files[0]) });
        this.removeButton = el("button", { type: "button", hidden: true, "data-control": "remove", text: "remove your data",
          onclick: () => { this.loaded = null; input.value = ""; this.afterDataChange(); } });
        this.fileMessage = el("span", { class: "sx-file-message" });
        parts.push(el("div", { class: "sx-compare" }, [
          el("span", { text: `Compare with your machine: load the ${cfg.format.file} that ` }),
          el("code", { text: "python -m kernels.bench sweep" }),
          el("span", { text: " writes beside its results (read in this page, never uploaded) " }),
          input, this.removeButton, this.fileMessage]));
      }
      this.footer.append(...parts);
    }

    csvHref() {
      const rows = this.rows();
      const names = this.loaded ? distinct(this.names.concat(Object.keys(this.loaded.rows[0] || {})).concat(["source"])) : this.names;
      return "data:text/csv;charset=utf-8," + encodeURIComponent(toCsv(rows, names));
    }

    loadFile(file) {
      const reader = new FileReader();
      reader.onload = () => {
        try {
          this.acceptResults(JSON.parse(reader.result), file.name);
          this.fileMessage.textContent = "";
        } catch (error) {
          this.fileMessage.textContent = ` not loaded: ${error.message}`;
        }
      };
      reader.readAsText(file);
    }

    acceptResults(results, fileName) {
      const format = this.cfg.format;
      if (!results || results.format !== format.name) throw new Error(`not a ${format.file} (no "${format.name}" format)`);
      if (results.version !== format.version) throw new Error(`format version ${results.version}, this page reads ${format.version}`);
      const allowed = Object.entries(this.cfg.filter);
      const name = `your machine (${results.machine.cpu || fileName})`;
      const rows = rowsOf(results.data).filter(row => allowed.every(([c, values]) => values.includes(row[c])))
        .map(row => Object.assign(row, { source: name }));
      if (!rows.length) throw new Error("it holds none of the cases this figure shows");
      const before = new Set(this.baseLabels());
      this.loaded = { rows, name, machine: results.machine, file: fileName };
      for (const label of this.baseLabels()) if (!before.has(label)) this.state.selected.add(label);
      this.afterDataChange();
    }

    afterDataChange() {
      const xs = this.xValues();
      this.state.xFrom = xs[0];
      this.state.xTo = xs[xs.length - 1];
      if (this.state.baseline && !this.baseLabels().includes(this.state.baseline)) this.state.baseline = "";
      this.resetFacets();
      this.buildControls();
      this.buildSeries();
      this.removeButton.hidden = !this.loaded;
      this.download.href = this.csvHref();
      this.update();
    }

    update() {
      const cfg = this.cfg, state = this.state;
      const measure = this.measureOf(state.measure);
      // Roofs only where the series on show have them: no control that does nothing.
      const hasRoofs = !state.baseline && !!measure.roof &&
        this.rows().some(r => this.inView(r) && state.selected.has(r[cfg.label]) && r[measure.roof] !== null);
      if (!hasRoofs) state.roofs = false;
      if (this.control.measure) show(this.control.measure, !state.baseline);
      show(this.control.roofs, hasRoofs);
      this.control.roofs.querySelector("input").checked = state.roofs;
      this.current = this.series();
      this.drawReadout();
      this.drawMachines();
      this.draw();
    }

    drawReadout() {
      const readout = this.cfg.readout;
      this.readoutBox.replaceChildren();
      if (!readout) return;
      const rows = rowsOf(readout.data).filter(r => this.facets.every(f => !(f in r) || this.state.facet[f] === "*" || r[f] === this.state.facet[f]));
      this.readoutBox.append(el("span", { class: "sx-readout-title", text: readout.title + ": " }),
        ...rows.map(r => el("span", { class: "sx-readout-item", text: `${r[readout.label]} ${formatNumber(r[readout.value], 4)}` })));
    }

    drawMachines() {
      this.machinesBox.replaceChildren();
      if (!this.loaded) return;
      const column = (title, m) => el("div", { class: "sx-machine" }, [el("div", { class: "sx-machine-title", text: title }),
        el("ul", {}, (m.describe || []).map(([k, v]) => el("li", {}, [el("b", { text: k + ": " }), v])))]);
      this.machinesBox.append(column(`${this.cfg.machine.label}: ${this.cfg.machine.cpu}`, this.cfg.machine),
        column(`${this.loaded.name}, from ${this.loaded.file}`, this.loaded.machine));
    }

    draw() {
      const cfg = this.cfg, state = this.state, series = this.current;
      if (this.plot) { this.plot.destroy(); this.plot = null; }
      const xs = distinct(series.flatMap(s => s.points.map(p => p.x))).sort((a, b) => a - b);
      const index = new Map(xs.map((x, i) => [x, i]));
      const data = [xs].concat(series.map(s => {
        const ys = new Array(xs.length).fill(null);
        s.points.forEach(p => { ys[index.get(p.x)] = p.y; });
        return ys;
      }));
      if (!xs.length) {  // nothing to draw: uPlot needs at least one x
        this.tooltip.hidden = false;
        this.tooltip.textContent = series.length ? "no data in this range" : "no series selected";
        return;
      }
      const bars = series.some(s => s.kind === "bars");
      const xLogBase = state.xLog ? (cfg.x.log || 10) : 0;
      const ys = data.slice(1).flat().filter(v => v !== null);
      const yZero = !state.yLog && !state.baseline && ys.every(v => v >= 0);
      const opts = {
        width: Math.max(320, this.plotBox.clientWidth || 640),
        height: 340,
        legend: { show: false },
        cursor: { points: { size: 8 }, drag: { x: false, y: false } },
        scales: {
          x: Object.assign({ time: false }, xLogBase ? { distr: 3, log: xLogBase } : {},
            bars ? { range: (u, min, max) => [min - 0.5, max + 0.5] } : {}),
          y: Object.assign({}, state.yLog ? { distr: 3, log: 10 } : {},
            yZero ? { range: (u, min, max) => [0, max > 0 ? max * 1.05 : 1] } : {}),
        },
        axes: [
          { label: cfg.x.label, values: (u, splits) => splits.map(v => (v === null ? "" : formatX(v, cfg.x.format))),
            splits: xLogBase ? (u, axis, min, max) => logSplits(min, max, xLogBase) : undefined },
          { label: this.yLabel(), size: 64, values: (u, splits) => splits.map(v => (v === null ? "" : state.yLog ? formatPower(v) : formatNumber(v, 3))),
            splits: state.yLog ? (u, axis, min, max) => logSplits(min, max, 10) : undefined },
        ],
        series: [{}].concat(series.map(s => seriesOptions(s, state.yLog))),
        hooks: { setCursor: [u => this.hover(u)] },
      };
      this.plot = new uPlot(opts, data, this.plotBox);
      this.plotBox.append(this.tooltip);
      this.tooltip.hidden = true;
    }

    hover(u) {
      const i = u.cursor.idx, top = u.cursor.top;
      if (i === null || i === undefined || top === undefined || top < 0) { this.tooltip.hidden = true; return; }
      let best = null;
      this.current.forEach((s, k) => {
        const y = u.data[k + 1][i];
        if (y === null || y === undefined) return;
        const distance = Math.abs(u.valToPos(y, "y") - top);
        if (!best || distance < best.distance) best = { s, y, distance };
      });
      if (!best || best.distance > 24) { this.tooltip.hidden = true; return; }
      const x = u.data[0][i];
      const point = best.s.points.find(p => p.x === x);
      const lines = [best.s.label, `${this.cfg.x.column} = ${formatX(x, this.cfg.x.format)}` +
        (this.cfg.x.format === "pow2" ? ` (${formatNumber(x)})` : ""),
        this.state.baseline ? `time / time of ${this.state.baseline}: ${formatNumber(best.y, 4)}`
          : `${best.s.roofOf ? "roof: " : ""}${this.yLabel()}: ${formatNumber(best.y, 4)}`];
      for (const h of this.cfg.hover) {
        if (point && point.row[h.column] !== undefined && point.row[h.column] !== null) {
          lines.push(`${h.label}: ${formatNumber(point.row[h.column], h.digits)}`);
        }
      }
      if (point && point.base) lines.push(`baseline ${this.cfg.time.replace(/_/g, " ")}: ${formatNumber(point.base[this.cfg.time], 4)}`);
      this.tooltip.replaceChildren(...lines.map((text, k) => el("div", { class: k ? "" : "sx-tooltip-title", text })));
      this.tooltip.hidden = false;
      const left = u.valToPos(x, "x") + u.over.offsetLeft, y = u.valToPos(best.y, "y") + u.over.offsetTop;
      const box = this.plotBox.clientWidth;
      this.tooltip.style.left = `${Math.min(left + 12, Math.max(0, box - 300))}px`;
      this.tooltip.style.top = `${y + 12}px`;
    }

    // For the tests: what is drawn, and where a point is on the screen.
    stateForTests() {
      const s = this.state;
      return {
        measure: s.measure, baseline: s.baseline, xLog: s.xLog, yLog: s.yLog, roofs: s.roofs,
        xRange: [s.xFrom, s.xTo], facets: Object.assign({}, s.facet), loaded: this.loaded ? this.loaded.name : null,
        scales: this.plot ? { x: this.plot.scales.x.distr === 3 ? "log" : "linear", y: this.plot.scales.y.distr === 3 ? "log" : "linear" } : null,
        yLabel: this.yLabel(),
        series: this.current.map(c => ({ label: c.label, base: c.base, source: c.source, roof: !!c.roofOf,
          x: c.points.map(p => p.x), y: c.points.map(p => p.y) })),
        plotted: this.plot ? this.plot.data.map(column => Array.from(column)) : null,
        readout: this.readoutBox.textContent,
        tooltip: this.tooltip.hidden ? "" : this.tooltip.textContent,
      };
    }

    pointPosition(label, x) {
      const k = this.current.findIndex(s => s.label === label);
      if (k < 0 || !this.plot) return null;
      const i = this.plot.data[0].indexOf(x);
      const y = this.plot.data[k + 1][i];
      if (i < 0 || y === null) return null;
      const rect = this.plot.over.getBoundingClientRect();
      return { x: rect.left + this.plot.valToPos(x, "x"), y: rect.top + this.plot.valToPos(y, "y"), value: y };
    }
  }

  // Powers of the base between min and max, at most about ten of them. (uPlot's
  // own log splits cover 1e-16 to 1e16; probabilities go far below.)
  function logSplits(min, max, base) {
    const log = v => Math.log(v) / Math.log(base);
    const lo = Math.ceil(log(min) - 1e-9), hi = Math.floor(log(max) + 1e-9);
    const step = Math.max(1, Math.ceil((hi - lo + 1) / 10));
    const splits = [];
    const multiples = base === 10 && hi - lo < 2 ? [1, 2, 5] : [1];  // a narrow decade range gets 2s and 5s
    for (let k = (multiples.length > 1 ? lo - 1 : lo); k <= hi; k += step) {
      for (const m of multiples) if (m * base ** k >= min * (1 - 1e-9) && m * base ** k <= max * (1 + 1e-9)) splits.push(m * base ** k);
    }
    return splits.length ? splits : [min, max];
  }

  function seriesOptions(s, yLog) {
    const options = { label: s.label, stroke: s.color, width: s.width, dash: s.dash, spanGaps: true,
      points: { show: true, size: 4, fill: s.hollow ? "#fff" : s.color, stroke: s.color } };
    if (s.kind === "points") {
      options.paths = () => null;
      options.points = s.hollow ? { show: true, size: 12, fill: "rgba(0,0,0,0)", stroke: s.color, width: 2 }
        : { show: true, size: 8, fill: s.color, stroke: s.color, width: 1 };
    } else if (s.kind === "bars") {
      options.paths = uPlot.paths.bars({ size: [0.7, 60] });
      options.fill = s.color + "66";
      // Bars grow from 0, which a log axis does not have: from its bottom instead.
      if (yLog) options.fillTo = u => u.scales.y.min;
      options.points = { show: false };
    }
    return options;
  }

  /* --------------------------------------------------------- ExtExp */

  class ExtExpExplorer {
    constructor(root, config) {
      this.root = root;
      this.cfg = config;
      root.replaceChildren();
      root.classList.add("sx-ready");
      this.input = el("input", { type: "text", value: String(config.x), size: 16, "aria-label": "x", "data-control": "x",
        onchange: () => this.update(), onkeydown: e => { if (e.key === "Enter") this.update(); } });
      const presets = config.presets.map(v => el("button", { type: "button", class: "sx-preset", "data-control": `preset:${v}`, text: String(v),
        onclick: () => { this.input.value = String(v); this.update(); } }));
      this.table = el("table", { class: "sx-extexp-table" });
      this.message = el("div", { class: "sx-note" });
      root.append(el("div", { class: "sx-title", text: config.title }),
        el("div", { class: "sx-controls" }, [labelled("x =", this.input), el("span", { class: "sx-presets" }, presets)]),
        this.table, this.message,
        el("div", { class: "sx-note", text: `Computed in this page with float32 arithmetic (Math.fround, and an exact fused multiply-add), as the kernel ${config.variant} computes it.` }));
      this.update();
    }

    update() {
      const K = this.cfg.constants;
      const typed = parseNumber(this.input.value);
      if (typed === null) {
        this.message.textContent = "type a number, e.g. 1000, -1e3, 65536, inf or nan";
        return;
      }
      const r = extexp(typed, K);
      this.result = r;
      const rows = [
        ["x (as float32)", shortest32(r.x), r.x],
        ["n = round(x \u00b7 log\u2082e)", shortest32(r.n), r.n],
        ["t = x \u2212 n \u00b7 ln 2 (two FMAs)", shortest32(r.t), r.t],
        ["m = p(t) \u2248 e\u1d57", shortest32(r.m), r.m],
      ];
      const { value, error } = extexpValue(r);
      const head = el("thead", {}, el("tr", {}, ["", "value", "float32 bits", "sign exponent mantissa"].map(t => el("th", { text: t }))));
      const body = el("tbody", {}, rows.map(([name, text, v]) => el("tr", {}, [el("td", { text: name }), el("td", { text }),
        el("td", { class: "sx-mono", text: hex32(v) }), el("td", { class: "sx-mono", text: fields32(v) })])).concat([
        el("tr", {}, [el("td", { text: "e\u02e3 \u2248 m \u00b7 2\u207f" }), el("td", { colspan: 3, text: value })]),
        el("tr", {}, [el("td", { text: "relative error of m \u00b7 2\u207f" }), el("td", { colspan: 3, text: error })])]));
      this.table.replaceChildren(head, body);
      this.message.textContent = Math.abs(r.x) > K.EXTEXP_MAX_ABS_INPUT
        ? `|x| > ${K.EXTEXP_MAX_ABS_INPUT}: outside the range where ExtExp stays within 2 ULP; the two-pass kernels take their guarded path for such rows.`
        : "";
    }

    stateForTests() {
      const r = this.result;
      return { x: bitsOf32(r.x), n: bitsOf32(r.n), t: bitsOf32(r.t), m: bitsOf32(r.m), text: this.table.textContent + this.message.textContent };
    }
  }

  function parseNumber(text) {
    const t = text.trim().toLowerCase().replace(/\u2212/g, "-");
    if (/^[-+]?inf(inity)?$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
    if (/^[-+]?nan$/.test(t)) return NaN;
    const v = t === "" ? NaN : Number(t);
    return Number.isNaN(v) ? null : v;
  }

  // m * 2^n in decimal (it may be far outside double's range) and its relative
  // error against e^x, from log(m) + n ln 2 - x computed in double.
  function extexpValue(r) {
    if (!Number.isFinite(r.m) || !Number.isFinite(r.n)) return { value: `${r.m} \u00b7 2^${r.n}`, error: "\u2013" };
    const log10 = Math.log10(r.m) + r.n * Math.LOG10E * Math.LN2;
    const exponent = Math.floor(log10);
    const mantissa = 10 ** (log10 - exponent);
    const error = Math.expm1(Math.log(r.m) + r.n * Math.LN2 - r.x);
    return { value: `${mantissa.toFixed(7)} \u00d7 10${superscript(exponent)}`,
      error: `${error.toExponential(3)} (${(error / 2 ** -24).toFixed(2)} \u00d7 2\u207b\u00b2\u2074)` };
  }

  /* ------------------------------------------------------------ entry */

  const KINDS = { lines: LinesExplorer, extexp: ExtExpExplorer };

  function render(root) {
    if (!root || root.sxExplorer) return;
    const config = JSON.parse(root.querySelector("script.sx-config").textContent);
    const explorer = new KINDS[root.dataset.kind](root, config);
    root.sxExplorer = { state: () => explorer.stateForTests(), config, explorer };
    if (explorer.pointPosition) root.sxExplorer.pointPosition = (label, x) => explorer.pointPosition(label, x);
  }

  window.SoftmaxExplorers = { render, fma32, extexp, bitsOf32, f32 };
})();
