// The live page: polls /memory.json and /history.json every second and draws
// the totals, the service table and two SVG charts (no library). The URL may
// carry ?filter=TEXT and ?sort=KEY (a column's data-key) to open that view.
"use strict";

const POLL_MS = 1000;
const WINDOW_MS = 10 * 60 * 1000;
const TOP_LINES = 6;
const COLORS = ["#2b6cb0", "#c05621", "#2f855a", "#9b2c2c", "#6b46c1", "#b7791f", "#2c7a7b", "#97266d"];
const SVG = "http://www.w3.org/2000/svg";

const state = {
	memory: null,
	samples: [],        // oldest first, at most the ring's capacity
	names: {},          // handle -> name, from the history
	history: null,      // the last /history.json (exits, limit hits, exited)
	sortKey: "total",
	sortDesc: true,
	filter: "",
};

function fmtBytes(n) {
	if (n === null || n === undefined) return "–";
	const a = Math.abs(n);
	if (a < 10 * 1024) return n + " B";
	if (a < 10 * 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
	if (a < 10 * 1024 * 1024 * 1024) return (n / 1048576).toFixed(1) + " MiB";
	return (n / 1073741824).toFixed(2) + " GiB";
}

function fmtAxis(v) {
	if (v >= 1048576) return (v / 1048576).toFixed(v >= 10485760 ? 0 : 1) + " MiB";
	if (v >= 1024) return (v / 1024).toFixed(0) + " KiB";
	return Math.round(v) + " B";
}

function fmtAgo(ms, now) {
	const s = Math.max(0, Math.round((now - ms) / 1000));
	if (s < 60) return s + " s ago";
	if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s ago";
	return Math.floor(s / 3600) + " h ago";
}

function el(tag, attrs, text) {
	const e = document.createElement(tag);
	for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
	if (text !== undefined) e.textContent = text;
	return e;
}

function svgEl(tag, attrs) {
	const e = document.createElementNS(SVG, tag);
	for (const k in attrs) e.setAttribute(k, attrs[k]);
	return e;
}

function cell(tr, text, cls, exact) {
	const td = el("td", cls ? { class: cls } : {}, text);
	if (exact !== undefined) {
		td.dataset.v = exact;
		td.title = exact + " bytes";
	}
	tr.appendChild(td);
	return td;
}

// --- totals ---
function drawTotals() {
	const m = state.memory, t = m.totals;
	document.getElementById("t-c").textContent = fmtBytes(t.c_bytes);
	document.getElementById("t-lua").textContent = fmtBytes(t.lua_bytes);
	document.getElementById("t-blocks").textContent = t.blocks;
	document.getElementById("t-services").textContent = t.services;
	const orphan = document.getElementById("t-orphan");
	orphan.textContent = fmtBytes(t.orphan_bytes) + " in " + t.orphan_blocks + " blocks";
	orphan.parentNode.classList.toggle("warn", t.orphan_bytes > 0);
	document.getElementById("t-resident").textContent = t.process_resident ? fmtBytes(t.process_resident) : "–";
	const h = state.history;
	const refusals = document.getElementById("t-refusals");
	refusals.textContent = h ? h.limit_refusals : "–";
	refusals.parentNode.classList.toggle("warn", !!(h && h.limit_refusals > 0));
	for (const id of ["t-c", "t-lua", "t-orphan", "t-resident"]) {
		const key = { "t-c": "c_bytes", "t-lua": "lua_bytes", "t-orphan": "orphan_bytes", "t-resident": "process_resident" }[id];
		document.getElementById(id).dataset.v = t[key];
	}
}

// --- the service table ---
function tableRows() {
	const rows = state.memory.services.map(s => Object.assign({ total: s.c_bytes + s.lua_bytes, exited: false }, s));
	for (const x of (state.history && state.history.exited) || [])
		rows.push({ handle: x.handle, name: x.name || "?", c_bytes: x.c_bytes, lua_bytes: 0, total: x.c_bytes,
			blocks: x.blocks, peak: null, limit: 0, allocs: null, frees: null, exited: true });
	const f = state.filter.toLowerCase();
	const shown = rows.filter(r => !f || r.name.toLowerCase().includes(f) || r.handle.includes(f));
	const k = state.sortKey, sign = state.sortDesc ? -1 : 1;
	shown.sort((a, b) => {
		const x = a[k], y = b[k];
		const c = typeof x === "string" ? x.localeCompare(y) : (x || 0) - (y || 0);
		return c !== 0 ? sign * c : a.handle.localeCompare(b.handle);
	});
	return shown;
}

function drawTable() {
	const tbody = document.querySelector("#services tbody");
	tbody.textContent = "";
	for (const r of tableRows()) {
		const tr = el("tr", { "data-handle": r.handle });
		if (r.exited) tr.classList.add("exited");
		const over = r.limit && r.total >= 0.9 * r.limit;
		if (over) tr.classList.add("near-limit");
		cell(tr, r.handle, "mono");
		const name = cell(tr, r.name, "name");
		if (r.exited) name.appendChild(el("span", { class: "tag exited" }, "exited"));
		cell(tr, fmtBytes(r.c_bytes), "num c", r.c_bytes);
		cell(tr, fmtBytes(r.lua_bytes), "num lua", r.lua_bytes);
		cell(tr, r.lua_mem == null ? "–" : fmtBytes(r.lua_mem), "num luamem", r.lua_mem == null ? undefined : r.lua_mem);
		cell(tr, fmtBytes(r.total), "num total", r.total);
		cell(tr, String(r.blocks), "num blocks", r.blocks);
		cell(tr, r.peak === null ? "–" : fmtBytes(r.peak), "num peak", r.peak === null ? undefined : r.peak);
		cell(tr, r.limit ? fmtBytes(r.limit) + " (" + Math.round(100 * r.total / r.limit) + "%)" : "–", "num limit",
			r.limit || undefined);
		cell(tr, r.allocs === null ? "–" : String(r.allocs), "num");
		cell(tr, r.frees === null ? "–" : String(r.frees), "num");
		tbody.appendChild(tr);
	}
	for (const th of document.querySelectorAll("#services th")) {
		th.classList.toggle("sorted", th.dataset.key === state.sortKey);
		th.classList.toggle("desc", th.dataset.key === state.sortKey && state.sortDesc);
	}
}

// --- charts ---
function niceMax(v) {
	if (v <= 0) return 1024;
	const p = Math.pow(2, Math.ceil(Math.log2(v)));
	return p * 0.75 >= v ? p * 0.75 : p;
}

// series: [{label, color, runs: [[[t, v], ...], ...], dash}] drawn over [t0, t1]
function drawChart(svg, legend, series, t0, t1) {
	svg.textContent = "";
	legend.textContent = "";
	const W = 640, H = 220, L = 70, R = 10, T = 10, B = 24;
	let vmax = 0;
	for (const s of series) for (const run of s.runs) for (const p of run) vmax = Math.max(vmax, p[1]);
	vmax = niceMax(vmax);
	const x = t => L + (W - L - R) * (t - t0) / Math.max(1, t1 - t0);
	const y = v => T + (H - T - B) * (1 - v / vmax);
	for (let i = 0; i <= 4; i++) {
		const v = vmax * i / 4;
		svg.appendChild(svgEl("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
		const label = svgEl("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" });
		label.textContent = fmtAxis(v);
		svg.appendChild(label);
	}
	const span = t1 - t0;
	const step = [10, 30, 60, 120].find(s => span / (s * 1000) <= 6) * 1000 || 120000;
	for (let d = 0; d <= span; d += step) {
		const label = svgEl("text", { x: x(t1 - d), y: H - 6, class: "axis", "text-anchor": d === 0 ? "end" : "middle" });
		label.textContent = d === 0 ? "now" : d % 60000 === 0 ? "-" + d / 60000 + " min" : "-" + d / 1000 + " s";
		svg.appendChild(label);
	}
	for (const s of series) {
		let points = 0;
		for (const run of s.runs) {
			if (run.length === 0) continue;
			const attrs = { class: "series", stroke: s.color, "data-series": s.label, "data-points": run.length,
				points: run.map(p => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ") };
			if (s.dash) attrs["stroke-dasharray"] = "4 3";
			if (run.length === 1) {
				svg.appendChild(svgEl("circle", { cx: x(run[0][0]), cy: y(run[0][1]), r: 2, fill: s.color, class: "dot" }));
			}
			svg.appendChild(svgEl("polyline", attrs));
			points += run.length;
		}
		const last = s.runs.length ? s.runs[s.runs.length - 1] : [];
		const item = el("span", { class: "item", "data-points": points });
		item.appendChild(el("i", { style: "background:" + s.color }));
		item.appendChild(document.createTextNode(s.label + (last.length ? " " + fmtBytes(last[last.length - 1][1]) : "")));
		legend.appendChild(item);
	}
}

function drawCharts() {
	const S = state.samples;
	if (S.length === 0) return;
	const t1 = S[S.length - 1].t, t0 = Math.max(0, t1 - WINDOW_MS);
	const inWindow = S.filter(s => s.t >= t0);
	drawChart(document.getElementById("chart-total"), document.getElementById("legend-total"), [
		{ label: "C + Lua", color: COLORS[0], runs: [inWindow.map(s => [s.t, s.c + s.lua])] },
		{ label: "C", color: COLORS[1], runs: [inWindow.map(s => [s.t, s.c])] },
		{ label: "Lua", color: COLORS[2], runs: [inWindow.map(s => [s.t, s.lua])] },
		{ label: "exited services", color: COLORS[3], runs: [inWindow.map(s => [s.t, s.orphan])] },
	], t0, t1);
	// the services with the highest figure in the window, each a line with
	// gaps where it was not among the host's top services of the sample
	const kind = document.getElementById("top-kind").value;
	const value = e => kind === "c" ? e[1] : kind === "lua" ? e[2] : e[1] + e[2];
	const best = {};
	for (const s of inWindow)
		for (const e of s.top) best[e[0]] = Math.max(best[e[0]] || 0, value(e));
	const chosen = Object.keys(best).sort((a, b) => best[b] - best[a] || a.localeCompare(b)).slice(0, TOP_LINES);
	const series = chosen.map((h, i) => {
		const runs = [[]];
		for (const s of inWindow) {
			const hit = s.top.find(x => x[0] === h);
			if (hit) runs[runs.length - 1].push([s.t, value(hit)]);
			else if (runs[runs.length - 1].length) runs.push([]);
		}
		return { label: (state.names[h] || "?") + " " + h, color: COLORS[(i + 1) % COLORS.length], runs };
	});
	drawChart(document.getElementById("chart-top"), document.getElementById("legend-top"), series, t0, t1);
}

// --- exit reports and limit hits ---
function drawEvents() {
	const h = state.history;
	const now = h.now;
	const exits = document.querySelector("#exits tbody");
	exits.textContent = "";
	for (const r of h.exits.slice(0, 20)) {
		const tr = el("tr", { "data-handle": r.handle, class: r.leak ? "leak" : "clean" });
		cell(tr, fmtAgo(r.t, now));
		cell(tr, r.handle, "mono");
		cell(tr, r.name, "name");
		cell(tr, fmtBytes(r.bytes), "num bytes", r.bytes);
		cell(tr, String(r.blocks), "num blocks", r.blocks);
		cell(tr, fmtBytes(r.lua_bytes), "num");
		cell(tr, r.leak ? "LEAK" : "clean", r.leak ? "tag leak" : "tag ok");
		cell(tr, r.sites || "", "sites mono");
		exits.appendChild(tr);
	}
	if (h.exits.length === 0) exits.appendChild(el("tr", { class: "empty" }, "no service exited yet"));
	const limits = document.querySelector("#limits tbody");
	limits.textContent = "";
	for (const r of h.limit_hits.slice(0, 20)) {
		const tr = el("tr", { "data-handle": r.handle, class: "hit" });
		cell(tr, fmtAgo(r.last, now));
		cell(tr, r.handle, "mono");
		cell(tr, r.name, "name");
		cell(tr, r.kind);
		cell(tr, fmtBytes(r.request), "num", r.request);
		cell(tr, fmtBytes(r.used), "num", r.used);
		cell(tr, fmtBytes(r.limit), "num limit", r.limit);
		cell(tr, String(r.count), "num count", r.count);
		limits.appendChild(tr);
	}
	if (h.limit_hits.length === 0) limits.appendChild(el("tr", { class: "empty" }, "no limit hit yet"));
}

// --- polling ---
async function getJSON(url) {
	const r = await fetch(url, { cache: "no-store" });
	if (!r.ok) throw new Error(url + ": HTTP " + r.status);
	return r.json();
}

async function poll() {
	const status = document.getElementById("status");
	try {
		const since = state.samples.length ? state.samples[state.samples.length - 1].t : 0;
		const [memory, history] = await Promise.all([
			getJSON("memory.json"),
			getJSON("history.json" + (since ? "?since=" + since : "")),
		]);
		if (history.now < since) state.samples = [];   // the host restarted: its clock too
		state.samples = state.samples.concat(history.samples).slice(-history.capacity);
		Object.assign(state.names, history.names);
		state.memory = memory;
		state.history = history;
		drawTotals();
		drawTable();
		drawCharts();
		drawEvents();
		status.textContent = "live · " + state.samples.length + " samples · " + new Date().toLocaleTimeString();
		status.className = "status ok";
		document.body.dataset.loaded = "1";
	} catch (e) {
		status.textContent = "no data: " + e.message;
		status.className = "status error";
	}
	setTimeout(poll, POLL_MS);
}

document.getElementById("filter").addEventListener("input", e => {
	state.filter = e.target.value;
	if (state.memory) drawTable();
});
document.getElementById("top-kind").addEventListener("change", drawCharts);
for (const th of document.querySelectorAll("#services th")) {
	th.addEventListener("click", () => {
		const k = th.dataset.key;
		if (state.sortKey === k) state.sortDesc = !state.sortDesc;
		else { state.sortKey = k; state.sortDesc = k !== "name" && k !== "handle"; }
		drawTable();
	});
}
const params = new URLSearchParams(location.search);
if (params.get("filter")) document.getElementById("filter").value = state.filter = params.get("filter");
if (params.get("sort")) {   // as a click on that heading
	state.sortKey = params.get("sort");
	state.sortDesc = state.sortKey !== "name" && state.sortKey !== "handle";
}
poll();
