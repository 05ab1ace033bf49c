// tcpstate report: sorting and filtering of the connection table, the selected connection's
// row, and (with #selftest in the URL) a self-test whose result the browser test reads.
"use strict";
(function () {
  var errors = [];
  var out = document.getElementById("selftest-result");
  var selftest = location.hash === "#selftest";
  var result = {};
  function publish() {
    if (selftest) {
      result.errors = errors;
      out.textContent = JSON.stringify(result);
    }
  }
  window.addEventListener("error", function (e) {
    errors.push("error: " + e.message);
    publish();
  });
  document.addEventListener("securitypolicyviolation", function (e) {
    errors.push("blocked by the Content-Security-Policy: " + e.violatedDirective + " " + e.blockedURI);
    publish();
  });

  var table = document.getElementById("conns");
  var tbody = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var rows = Array.prototype.slice.call(tbody.rows);
  var order = new Map();
  var text = new Map();
  rows.forEach(function (r, i) {
    order.set(r, i);
    text.set(r, r.textContent.toLowerCase());
  });
  var col = {};
  heads.forEach(function (h, i) {
    col[h.dataset.key] = i;
  });

  // A cell's sort key: its data-v attribute when the shown text does not sort (durations).
  function key(r, i, num) {
    var c = r.cells[i];
    var v = c.dataset.v !== undefined ? c.dataset.v : c.textContent;
    if (!num) {
      return v;
    }
    var x = parseFloat(v);
    return isNaN(x) ? -Infinity : x;
  }

  // Text sorts with runs of digits compared as numbers: 10.0.0.9:80 before 10.0.0.10:80.
  var natural = new Intl.Collator("en", { numeric: true });
  var sorted = { col: -1, dir: 1 };
  function sortBy(i) {
    var dir = sorted.col === i ? -sorted.dir : 1;
    var num = heads[i].dataset.type === "num";
    var keyed = rows.map(function (r) {
      return [key(r, i, num), r];
    });
    // Equal keys keep the connections' id order in both directions.
    keyed.sort(function (a, b) {
      var c = num ? (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) : natural.compare(a[0], b[0]);
      return c !== 0 ? dir * c : order.get(a[1]) - order.get(b[1]);
    });
    rows = keyed.map(function (k) {
      return k[1];
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) {
      frag.appendChild(r);
    });
    tbody.appendChild(frag);
    heads.forEach(function (h, j) {
      if (j === i) {
        h.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      } else {
        h.removeAttribute("aria-sort");
      }
    });
    sorted = { col: i, dir: dir };
  }
  heads.forEach(function (h, i) {
    h.tabIndex = 0;
    h.addEventListener("click", function () {
      sortBy(i);
    });
    h.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        sortBy(i);
      }
    });
  });

  var input = document.getElementById("filter");
  var outcome = document.getElementById("outcome");
  var diagnosed = document.getElementById("diagnosed");
  var shown = document.getElementById("shown");
  function filter() {
    var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var want = outcome.value;
    var n = 0;
    rows.forEach(function (r) {
      var t = text.get(r);
      var ok =
        terms.every(function (w) {
          return t.indexOf(w) >= 0;
        }) &&
        (want === "" || r.cells[col.ending].textContent === want) &&
        (!diagnosed.checked || r.cells[col.diagnoses].textContent !== "");
      r.hidden = !ok;
      if (ok) {
        n += 1;
      }
    });
    shown.textContent = n + " of " + rows.length + " connections shown";
    return n;
  }
  input.addEventListener("input", filter);
  outcome.addEventListener("change", filter);
  diagnosed.addEventListener("change", filter);

  // A click on a row with embedded details opens them (the details section is the URL target).
  tbody.addEventListener("click", function (e) {
    var r = e.target.closest("tr");
    if (r && r.classList.contains("detailed") && !e.target.closest("a")) {
      location.hash = "conn-" + r.dataset.id;
    }
  });
  function select() {
    var m = /^#conn-(\d+)$/.exec(location.hash);
    rows.forEach(function (r) {
      r.classList.toggle("selected", m !== null && r.dataset.id === m[1]);
    });
  }
  var opened = false;
  window.addEventListener("hashchange", function () {
    opened = /^#conn-/.test(location.hash);
    select();
  });
  select();

  // Closing goes back in history when the details were opened from this page, so the page
  // returns to where the reader was; otherwise to the table.
  function close() {
    if (!/^#conn-/.test(location.hash)) {
      return false;
    }
    if (opened) {
      history.back();
    } else {
      location.hash = "connections";
    }
    return true;
  }
  document.addEventListener("click", function (e) {
    if (e.target.closest(".detail .close") && close()) {
      e.preventDefault();
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      close();
    }
  });

  if (selftest) {
    var ids = function () {
      return rows
        .filter(function (r) {
          return !r.hidden;
        })
        .map(function (r) {
          return Number(r.dataset.id);
        });
    };
    result.scripts = document.scripts.length;
    result.rows = rows.length;
    heads[col.duration].click();
    result.duration_ascending = ids();
    heads[col.duration].click();
    result.duration_descending = ids();
    heads[col.id].click();
    result.id_ascending = ids();
    heads[col.client].click();
    heads[col.client].click();
    result.client_descending = ids();
    input.value = "reset";
    result.filter_reset = filter();
    input.value = "";
    diagnosed.checked = true;
    result.filter_diagnosed = filter();
    diagnosed.checked = false;
    result.shown = filter();
    publish();
  }
})();
