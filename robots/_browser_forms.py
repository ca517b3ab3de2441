"""Filling a whole form in one round trip to the page, firing the events a page listens to.

Fields are found by their visible label (a `<label>`, a fieldset's `<legend>` for radio groups, or an
`aria-label`), the way a person reads the form. Text fields, text areas, dates, selects, radio groups and
checkboxes are set in the page and get `input` and `change` events, as if typed; file fields are left to
Playwright's upload.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from robots._browser_locators import NORMALISE_JS

FILL_FORM_SCRIPT = (
    r"""
(fields) => {
  const normalise = """
    + NORMALISE_JS
    + r""";
  const clean = (t) => normalise(t).toLowerCase();
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const fire = (el) => {
    el.dispatchEvent(new Event('focus', {bubbles: false}));
    el.dispatchEvent(new Event('input', {bubbles: true}));
    el.dispatchEvent(new Event('change', {bubbles: true}));
    el.dispatchEvent(new Event('blur', {bubbles: false}));
  };
  const setNative = (el, value) => {
    const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, value);
  };
  const labels = [...document.querySelectorAll('label')].filter(visible);
  const legends = [...document.querySelectorAll('fieldset > legend')].filter(visible);
  const find = (wanted) => {
    const w = clean(wanted);
    for (const label of labels) if (clean(label.textContent) === w && label.control) return {el: label.control};
    for (const legend of legends) if (clean(legend.textContent) === w) return {group: legend.parentElement};
    for (const el of document.querySelectorAll('[aria-label]')) if (clean(el.getAttribute('aria-label')) === w && visible(el)) return {el};
    return null;
  };
  const labelOf = (input) => clean(input.labels && input.labels[0] ? input.labels[0].textContent : input.value);
  const result = {missing: [], problems: [], files: [], filled: 0};
  for (const [name, value] of fields) {
    const found = find(name);
    if (!found) { result.missing.push(name); continue; }
    if (found.group) {
      const radios = [...found.group.querySelectorAll('input[type=radio]')];
      const checks = [...found.group.querySelectorAll('input[type=checkbox]')];
      if (radios.length) {
        const want = clean(String(value));
        const radio = radios.find((r) => labelOf(r) === want || clean(r.value) === want);
        if (!radio) { result.problems.push([name, 'has no choice "' + value + '"', radios.map((r) => labelOf(r))]); continue; }
        if (radio.disabled) { result.problems.push([name, 'choice "' + value + '" is disabled', []]); continue; }
        radio.checked = true; fire(radio); result.filled++; continue;
      }
      if (checks.length) {
        const wanted = (Array.isArray(value) ? value : [value]).map((v) => clean(String(v)));
        for (const box of checks) { const on = wanted.includes(labelOf(box)) || wanted.includes(clean(box.value)); if (box.checked !== on) { box.checked = on; fire(box); } }
        result.filled++; continue;
      }
      result.problems.push([name, 'is a group without choices', []]); continue;
    }
    const el = found.el;
    if (el.disabled || el.readOnly) { result.problems.push([name, 'cannot be changed (disabled or read-only)', []]); continue; }
    const tag = el.tagName, type = (el.type || '').toLowerCase();
    if (tag === 'SELECT') {
      const want = clean(String(value));
      const options = [...el.options];
      const option = options.find((o) => clean(o.textContent) === want) || options.find((o) => clean(o.value) === want);
      if (!option) { result.problems.push([name, 'has no option "' + value + '"', options.map((o) => o.textContent.trim()).filter(Boolean)]); continue; }
      el.value = option.value; fire(el); result.filled++;
    } else if (type === 'checkbox' || type === 'radio') {
      const on = value === true || ['oui', 'true', 'vrai', '1', 'x', 'yes'].includes(clean(String(value)));
      if (el.checked !== on) { el.checked = on; fire(el); }
      result.filled++;
    } else if (type === 'file') {
      result.files.push(name);
    } else {
      let text = value === null ? '' : String(value);
      const french = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(text);
      if (type === 'date' && french) text = french[3] + '-' + french[2] + '-' + french[1];
      setNative(el, text); fire(el);
      if (text && el.value !== text) { result.problems.push([name, 'refused the value "' + value + '"', []]); continue; }
      result.filled++;
    }
  }
  return result;
}
"""
)


def form_value(value: Any) -> Any:
    """A workflow value as a form expects it: dates in ISO form, numbers as text, None as empty."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, list):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
