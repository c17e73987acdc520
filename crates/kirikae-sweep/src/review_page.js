// kirikae sweep review page: filters and sorting over the items table. Everything it shows was
// rendered (and HTML-escaped) by kirikae; this script only hides, shows and reorders rows, and
// writes numbers and text through textContent. No network: the page's CSP forbids every load.
(function () {
  "use strict";
  var table = document.getElementById("items");
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  rows.forEach(function (r, i) {
    r._order = i;
    r._tags = JSON.parse(r.getAttribute("data-tags") || "{}");
  });
  function el(id) { return document.getElementById(id); }
  var f = {
    type: el("f-type"), state: el("f-state"), tag: el("f-tag"),
    min: el("f-age-min"), max: el("f-age-max"), held: el("f-held")
  };

  // "key=value": that tag with that value; "key": the tag, any value; "=value": any tag with
  // that value. Exact, case-sensitive: tags are.
  function tagMatches(tags, query) {
    var q = query.trim();
    if (q === "") return true;
    var eq = q.indexOf("=");
    var key = eq < 0 ? q : q.slice(0, eq);
    var value = eq < 0 ? null : q.slice(eq + 1);
    if (key === "") {
      return Object.keys(tags).some(function (k) { return tags[k] === value; });
    }
    if (!Object.prototype.hasOwnProperty.call(tags, key)) return false;
    return value === null || tags[key] === value;
  }

  function ageOf(r) {
    var a = r.getAttribute("data-age");
    return a === "" ? null : Number(a);
  }

  function filter() {
    var min = f.min.value === "" ? null : Number(f.min.value);
    var max = f.max.value === "" ? null : Number(f.max.value);
    var shown = 0;
    rows.forEach(function (r) {
      var age = ageOf(r);
      var ok = (f.type.value === "" || r.getAttribute("data-type") === f.type.value) &&
        (f.state.value === "" || r.getAttribute("data-state") === f.state.value) &&
        (f.held.value === "" || r.getAttribute("data-held") === f.held.value) &&
        (min === null || (age !== null && age >= min)) &&
        (max === null || (age !== null && age <= max)) &&
        tagMatches(r._tags, f.tag.value);
      r.hidden = !ok;
      if (ok) shown++;
    });
    el("shown").textContent = String(shown);
  }

  var sortKey = null, sortDir = 1;
  var numeric = { age: true, level: true };
  function sortValue(r, key) {
    var v = r.getAttribute("data-" + key);
    if (numeric[key]) return v === "" ? null : Number(v);
    return v;
  }
  function sortBy(key) {
    sortDir = sortKey === key ? -sortDir : 1;
    sortKey = key;
    var sorted = rows.slice().sort(function (a, b) {
      var x = sortValue(a, key), y = sortValue(b, key), c;
      // Missing values (no age, held back: no level) last, whichever the direction.
      if (x === null || y === null) c = x === null ? (y === null ? 0 : 1) : -1;
      else c = sortDir * (numeric[key] ? x - y : x.localeCompare(y));
      return c !== 0 ? c : a._order - b._order;
    });
    sorted.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.querySelectorAll("th[data-sort]"), function (th) {
      if (th.getAttribute("data-sort") === key) {
        th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
  }

  Array.prototype.forEach.call(table.tHead.querySelectorAll("th[data-sort] button"), function (b) {
    b.addEventListener("click", function () { sortBy(b.parentNode.getAttribute("data-sort")); });
  });
  [f.type, f.state, f.held].forEach(function (s) { s.addEventListener("change", filter); });
  [f.tag, f.min, f.max].forEach(function (i) { i.addEventListener("input", filter); });
  el("f-reset").addEventListener("click", function () {
    f.type.value = ""; f.state.value = ""; f.held.value = "";
    f.tag.value = ""; f.min.value = ""; f.max.value = "";
    filter();
  });
  el("filters").hidden = false;
  filter();
})();
