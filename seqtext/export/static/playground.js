// seqtext playground: next-word menu, completion, per-word surprisal, series forecast with its interval band,
// classification and tagging. No build step.
"use strict";
const $ = (id) => document.getElementById(id);
let models = [];

async function call(path, body) {
  const res = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function current() { return models.find((m) => m.name === $("model").value) || models[0]; }

function showError(where, err) {
  where.textContent = err.message;
  where.className = "error";
}

// The list is read again until every model is loaded: the settings come at once, what needs the model (labels,
// tags, intervals, vocabulary) once it is loaded.
const MODELS_AGAIN_MS = 1000;
async function loadModels() {
  try {
    models = (await call("/v1/models")).models;
  } catch (err) { showError($("status"), err); return; }
  const chosen = $("model").value;
  if ([...$("model").options].map((o) => o.value).join("\n") !== models.map((m) => m.name).join("\n")) {
    $("model").innerHTML = "";
    for (const m of models) {
      const opt = document.createElement("option");
      opt.value = m.name; opt.textContent = `${m.name} (${m.kind}${m.exported ? ", onnx" : ""})`;
      $("model").appendChild(opt);
    }
    if (models.some((m) => m.name === chosen)) $("model").value = chosen;
  }
  const loading = models.filter((m) => !m.loaded);
  $("status").className = "";
  $("status").textContent = loading.length ? `loading ${loading.map((m) => m.name).join(", ")}…` : "";
  if (loading.length) setTimeout(loadModels, MODELS_AGAIN_MS);
  switchPanel();
  // a suggestion asked for while the models loaded got "still loading": asked again once they are
  if (!loading.length && $("suggestions").className === "error") suggest();
}

function switchPanel() {
  const m = current();
  for (const kind of ["text", "series", "classify", "tag"]) $(`${kind}-panel`).hidden = !m || m.kind !== kind;
  if (m && m.kind === "series") seriesHelp(((m.settings || {}).series) || {});
}

// A model with covariates or calendar inputs reads rows (CSV with a header), one of many series an id too.
function seriesHelp(s) {
  const covariates = [...(s.features || []), ...(s.past_features || []), ...(s.static_features || [])];
  const columns = [s.date, s.id, s.target, ...covariates].filter((c) => typeof c === "string" && c);
  const rows = covariates.length > 0 || (s.calendar || []).length > 0;
  $("series-id-label").hidden = !s.id;
  $("history").placeholder = rows ? `Rows as CSV with a header, e.g.\n${columns.join(",")}`
    : "History: numbers separated by commas or spaces (or rows as CSV with a header)";
  $("history-help").textContent = !rows ? "" : `This model reads ${covariates.length ? "covariates" : "dates"}: ` +
    `give rows with the columns ${columns.join(", ")}` + ((s.features || []).length
      ? `; rows after the last ${s.target} value carry ${s.features.join(", ")} for the steps ahead.` : ".");
}

// Numbers separated by commas or spaces, or a table whose first line names its columns: {history} or {rows} for
// /v1/forecast (an Error naming the first word of a list of numbers that is no number).
const numeric = (v) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v);
function seriesInput(text) {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l);
  const words = lines.join(" ").split(/[\s,]+/).filter((v) => v);
  const header = lines.length > 1 ? lines[0].split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1")) : [];
  if (!header.length || words.every(numeric)) {
    const wrong = words.find((v) => !numeric(v));
    if (wrong !== undefined) {
      throw new Error(`“${wrong}” is not a number; give the history as numbers separated by commas or spaces ` +
                      "(or rows as CSV with a header).");
    }
    return {history: words.map(Number)};
  }
  return {rows: lines.slice(1).map((line) => {
    const row = {};
    line.split(",").forEach((v, i) => {
      v = v.trim();
      if (i < header.length && v !== "") row[header[i]] = numeric(v) ? Number(v) : v;
    });
    return row;
  })};
}

// A prompt ending inside a word ("Mary rides the bicy") is its finished part and the word being typed: the
// words offered are those after the finished part that start with the typed letters, as `seqtext suggest` does.
const TYPING_POOL = 100;  // the likeliest words after the finished part that are searched for the typed letters

function typedWord(prompt) {
  const chars = ((current().settings || {}).text || {}).tokenizer === "char";
  const open = chars || /_{3,}/.test(prompt) ? null : prompt.match(/[\p{L}\p{N}]+$/u);
  return open ? open[0] : "";
}

let pending = 0;
async function suggest() {
  const prompt = $("prompt").value;
  const ticket = ++pending;
  const typed = typedWord(prompt);
  const finished = prompt.slice(0, prompt.length - typed.length);
  if (!finished.trim()) { $("suggestions").innerHTML = ""; return; }  // nothing read yet to rank words by
  try {
    const data = await call("/v1/next-words", {model: current().name, prompt: finished, k: typed ? TYPING_POOL : 5});
    if (ticket !== pending) return;  // a newer keystroke answered first
    const lower = typed.toLowerCase();
    const words = data.words.filter((w) => w.word.toLowerCase().startsWith(lower)).slice(0, 5);
    $("suggestions").innerHTML = "";
    $("suggestions").className = "";
    for (const w of words) {
      const b = document.createElement("button");
      b.className = "suggestion";
      b.textContent = `${w.word} ${(100 * w.probability).toFixed(1)}%`;
      b.onclick = () => {
        const p = $("prompt").value;
        const chars = ((current().settings || {}).text || {}).tokenizer === "char";  // the next character, as it is
        const head = p.slice(0, p.length - typedWord(p).length);
        $("prompt").value = /_{3,}/.test(p) ? p.replace(/_{3,}/, w.word)
          : chars ? p + w.word : head.replace(/\s*$/, " ") + w.word + " ";  // closed: the next words follow
        suggest();
      };
      $("suggestions").appendChild(b);
    }
    if (typed && !words.length) {
      const note = document.createElement("span");
      note.className = "note";
      note.textContent = `none of the ${data.words.length} likeliest words starts with “${typed}”`;
      $("suggestions").appendChild(note);
    }
  } catch (err) { if (ticket === pending) showError($("suggestions"), err); }
}

function number(id) { const v = $(id).value; return v === "" ? null : Number(v); }

async function complete() {
  $("completion").className = ""; $("completion").textContent = "…";
  const words = number("words");  // only an empty field is the default; the server answers any other
  const body = {model: current().name, prompt: $("prompt").value, words: words === null ? 20 : words};
  for (const k of ["temperature", "top_k", "top_p"]) if (number(k) !== null) body[k] = number(k);
  try {
    $("completion").textContent = (await call("/v1/complete", body)).completion;
  } catch (err) { showError($("completion"), err); }
}

async function score() {
  $("scored").className = ""; $("scored").textContent = "…";
  try {
    const data = await call("/v1/score", {model: current().name, sentences: [$("sentence").value], tokens: true});
    const record = data.records[0];
    $("scored").innerHTML = "";
    const bits = record.surprisal_bits;
    const chars = ((current().settings || {}).text || {}).tokenizer === "char";  // its tokens hold their spaces
    // each token as the sentence wrote it (a word, a piece of one, a mark or a character), coloured by its own
    // surprisal: the server gives the texts beside the numbers, so punctuation and word pieces stay aligned
    bits.forEach((b, i) => {
      const span = document.createElement("span");
      const shade = Math.min(1, b / 12);
      span.textContent = record.token_texts[i] + (chars ? "" : " ");
      span.title = `${b.toFixed(2)} bits`;
      span.className = "token";
      span.style.background = `rgba(220, 40, 40, ${shade.toFixed(2)})`;
      $("scored").appendChild(span);
    });
    const p = document.createElement("div");
    p.id = "perplexity";
    p.textContent = `log-probability ${record.logprob.toFixed(3)}, perplexity ${record.perplexity.toFixed(2)}`;
    $("scored").appendChild(p);
  } catch (err) { showError($("scored"), err); }
}

// The history, the forecast after it and the interval band; a value that is no finite number (a gap) leaves
// its point out, and the scale is reckoned in halves so that values near the float limit stay finite.
function draw(history, forecast, lower, upper) {
  const svg = $("chart"), W = 640, H = 240;
  const all = history.concat(forecast, lower || [], upper || []).filter(Number.isFinite);
  if (!all.length) { svg.innerHTML = ""; return; }
  const lo = Math.min(...all), hi = Math.max(...all), n = history.length + forecast.length;
  const span = hi / 2 - lo / 2;
  const x = (i) => 10 + (W - 20) * i / Math.max(n - 1, 1);
  const y = (v) => H - 10 - (H - 20) * (span > 0 ? (v / 2 - lo / 2) / span : 0.5);
  const path = (points) => {
    let d = "", open = false;
    for (const [i, v] of points) {
      if (!Number.isFinite(v)) { open = false; continue; }
      d += `${d ? " " : ""}${open ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      open = true;
    }
    return d;
  };
  const at = (vals, start) => vals.map((v, i) => [start + i, v]);
  let band = "";
  if (lower && upper) {  // the interval: along the upper bounds, back along the lower ones
    const edge = at(upper, history.length).concat(at(lower, history.length).reverse());
    const d = path(edge.filter(([, v]) => Number.isFinite(v)));
    if (d) band = `<path id="band" d="${d} Z" fill="rgba(221, 102, 0, 0.2)" stroke="none"/>`;
  }
  svg.innerHTML = band + `<path d="${path(at(history, 0))}" stroke="#246" fill="none" stroke-width="2"/>` +
    `<path d="${path(at([history[history.length - 1]].concat(forecast), history.length - 1))}" stroke="#d60" ` +
    `fill="none" stroke-width="2" stroke-dasharray="5 3"/>`;
}

// A table of several series (an id column holding more than one name) is refused here: the page draws one.
function oneSeries(given, s) {
  if (!given.rows || !s.id) return;
  const ids = [...new Set(given.rows.map((r) => r[s.id]).filter((v) => v !== undefined).map(String))];
  if (ids.length > 1) {
    throw new Error(`the rows hold ${ids.length} series (${s.id} ${ids.slice(0, 5).join(", ")}` +
                    `${ids.length > 5 ? ", …" : ""}); this page forecasts one at a time, so give the rows of one.`);
  }
}

async function forecast() {
  $("forecast-values").className = ""; $("forecast-values").textContent = "…";
  try {
    const s = ((current().settings || {}).series) || {};
    const given = seriesInput($("history").value);
    oneSeries(given, s);
    const history = given.history || given.rows.map((r) => r[s.target]).filter((v) => typeof v === "number");
    const id = $("series-id-label").hidden ? "" : $("series-id").value.trim();
    const steps = number("steps");  // only an empty field is the default; the server answers any other
    const data = await call("/v1/forecast", {model: current().name, ...given, ...(id ? {id} : {}),
                                             steps: steps === null ? 6 : steps});
    const values = data.rows.map((r) => r.forecast);
    const widest = data.levels.length ? Math.max(...data.levels) : null;
    $("forecast-values").className = "";
    $("forecast-values").textContent = values.map((v) => v.toFixed(3)).join(", ") +
      (widest === null ? "" : ` (${widest}% interval shaded)`);
    draw(history, values, widest === null ? null : data.rows.map((r) => r[`lower_${widest}`]),
         widest === null ? null : data.rows.map((r) => r[`upper_${widest}`]));
  } catch (err) {
    $("chart").innerHTML = "";  // no chart of an earlier forecast beside this error
    showError($("forecast-values"), err);
  }
}

async function classify() {
  $("labels").className = ""; $("labels").textContent = "…";
  try {
    const result = (await call("/v1/classify", {model: current().name, texts: [$("text").value]})).results[0];
    $("labels").innerHTML = "";
    const ranked = Object.entries(result.probabilities).sort((a, b) => b[1] - a[1]);
    for (const [label, p] of ranked) {
      const row = document.createElement("div");
      row.className = label === result.label ? "label best" : "label";
      row.textContent = `${label} ${(100 * p).toFixed(1)}%`;
      const bar = document.createElement("span");
      bar.className = "bar"; bar.style.width = `${(12 * p).toFixed(2)}em`;
      row.appendChild(bar);
      $("labels").appendChild(row);
    }
  } catch (err) { showError($("labels"), err); }
}

async function tag() {
  $("tagged").className = ""; $("tagged").textContent = "…";
  try {
    const result = (await call("/v1/tag", {model: current().name, sentences: [$("tag-sentence").value]})).results[0];
    $("tagged").innerHTML = "";
    result.words.forEach((w, i) => {
      const span = document.createElement("span");
      span.className = "word";
      span.title = `${(100 * result.probabilities[i]).toFixed(1)}%`;
      span.textContent = w;
      const t = document.createElement("small");
      t.textContent = result.tags[i];
      span.appendChild(t);
      $("tagged").appendChild(span);
    });
  } catch (err) { showError($("tagged"), err); }
}

let timer = null;
$("prompt").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 150); });
$("model").addEventListener("change", () => { switchPanel(); if (current().kind === "text") suggest(); });
$("complete").addEventListener("click", complete);
$("score").addEventListener("click", score);
$("forecast").addEventListener("click", forecast);
$("classify").addEventListener("click", classify);
$("tag").addEventListener("click", tag);
loadModels();
