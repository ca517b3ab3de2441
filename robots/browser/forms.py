"""Filling a whole form in one round trip to the page, firing the events a page listens to.

Fields are found by their visible label (a `<label>`, a fieldset's `<legend>` for radio groups, or an
`aria-label`), the way a person reads the form. Text fields, text areas, dates, selects, radio groups and
checkboxes are set in the page and get `input` and `change` events, as if typed; file fields are left to
Playwright's upload.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from robots.browser.locators import LABEL_TEXT_JS, NORMALISE_JS
from robots.kit import N_, _

FILL_FORM_SCRIPT = (
    r"""
(fields) => {
  const normalise = """
    + NORMALISE_JS
    + r""";
  const clean = (t) => normalise(t).toLowerCase();
  const labelText = """
    + LABEL_TEXT_JS
    + r""";
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
    for (const label of labels) if (clean(labelText(label)) === w && label.control) return {el: label.control};
    for (const legend of legends) if (clean(legend.textContent) === w) return {group: legend.parentElement};
    for (const el of document.querySelectorAll('[aria-label]')) if (clean(el.getAttribute('aria-label')) === w && visible(el)) return {el};
    return null;
  };
  const labelOf = (input) => clean(input.labels && input.labels[0] ? labelText(input.labels[0]) : input.value);
  const result = {missing: [], problems: [], files: [], filled: 0, title: document.title};
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
  // A field's focus may have opened a popup (a date picker) that now covers the form's button: close it as a
  // person does, by pressing the mouse elsewhere on the page and leaving the field.
  if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  for (const type of ['mousedown', 'mouseup']) document.body.dispatchEvent(new MouseEvent(type, {bubbles: true}));
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


# -- what the page answered to a form -----------------------------------------------------------------------------

# Shared by the scripts below: a field's name as a person reads it (its label without ` :` or `*`), and the
# error texts a framework puts next to a field (Django's errorlist, Bootstrap's invalid-feedback, `.error`…).
_ANSWER_HELPERS = (
    r"""
  const labelText = """
    + LABEL_TEXT_JS
    + r""";
  const clean = (t) => (t || '').replace(/[\s\u00a0]+/g, ' ').trim();
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const bare = (t) => clean(t).replace(/\s*\*\s*$/, '').replace(/\s*:\s*$/, '').replace(/\s*\*\s*$/, '');
  const ERRORS = '.errorlist, .invalid-feedback, .error, .errors, .erreur, .field-error, .form-error, .help-block.error, .text-danger';
  const BANNERS = '[role=alert], [role=status], .messages, .messagelist, .alert, .errornote, .notification, .flash';
  const fieldsOf = (root) => [...root.querySelectorAll('input, select, textarea')].filter((el) =>
    !['hidden', 'submit', 'button', 'reset', 'image'].includes((el.type || '').toLowerCase()));
  const labelOf = (el) => {
    const group = (el.type === 'radio' || el.type === 'checkbox') && el.closest('fieldset');
    if (group && group.querySelector('legend') && fieldsOf(group).length > 1) return bare(group.querySelector('legend').textContent);
    if (el.labels && el.labels.length) return bare(labelText(el.labels[0]));
    if (el.getAttribute('aria-label')) return bare(el.getAttribute('aria-label'));
    const by = el.getAttribute('aria-labelledby');
    if (by) return bare(by.split(/\s+/).map((id) => (document.getElementById(id) || {}).textContent || '').join(' '));
    return el.name || el.id || '';
  };
  const textOf = (el) => clean(el.innerText || el.textContent);
  const fieldErrors = () => {
    const found = new Map();
    const add = (el, text) => {
      const label = labelOf(el);
      text = clean(text);
      if (!text) return;
      const list = found.get(label) || [];
      if (!list.includes(text)) list.push(text);
      found.set(label, list);
    };
    for (const el of fieldsOf(document)) {
      if (!visible(el) && !(el.closest('fieldset') && visible(el.closest('fieldset')))) continue;
      const invalid = el.getAttribute('aria-invalid') === 'true';
      const described = [el.getAttribute('aria-describedby'), el.closest('fieldset') && el.closest('fieldset').getAttribute('aria-describedby')]
        .filter(Boolean).join(' ').split(/\s+/).filter(Boolean).map((id) => document.getElementById(id)).filter(Boolean);
      let own = described.filter((d) => invalid || d.matches(ERRORS) || d.getAttribute('role') === 'alert');
      if (!own.length) {
        // The framework's error list near the field: in its row (up to the first container holding another
        // field), or just before or after that row (Django's as_p).
        let row = el;
        for (let depth = 0; depth < 5 && row.parentElement && row.parentElement.tagName !== 'FORM'; depth++) {
          const parent = row.parentElement;
          const others = fieldsOf(parent).filter((f) => f !== el && !(f.name && f.name === el.name));
          if (others.length) break;
          row = parent;
        }
        own = [...row.querySelectorAll(ERRORS)].filter(visible);
        // A list between two rows belongs to the row after it (Django's as_p writes it before the field).
        const after = row.nextElementSibling;
        const nextRow = after && after.nextElementSibling;
        for (const side of [row.previousElementSibling, nextRow && fieldsOf(nextRow).length ? null : after]) {
          if (side && side.matches(ERRORS) && visible(side) && !fieldsOf(side).length) own.push(side);
        }
      }
      for (const d of own) add(el, textOf(d));
      if (!own.length && el.willValidate && !el.validity.valid && el.form && !el.form.noValidate && invalid) add(el, el.validationMessage);
    }
    return [...found].map(([label, texts]) => [label, texts.join(' ')]);
  };
  const ownedByField = (el) => {
    if (el.id && document.querySelector(`[aria-describedby~="${CSS.escape(el.id)}"]`)) return true;
    const parent = el.parentElement;
    if (!parent || ['BODY', 'MAIN', 'FORM', 'HTML'].includes(parent.tagName)) return false;
    const around = fieldsOf(parent);
    return around.length > 0 && new Set(around.map((f) => f.name || f.id)).size === 1;
  };
  const banners = () => {
    const out = [];
    for (const el of document.querySelectorAll(BANNERS)) {
      if (!visible(el) || (el.parentElement && el.parentElement.closest(BANNERS))) continue;
      if (fieldsOf(el).length || ownedByField(el)) continue;  // a form in an alert box, a field's own error
      const text = textOf(el);
      if (!text) continue;
      const marks = ((el.getAttribute('role') || '') + ' ' + el.className + ' ' + [...el.querySelectorAll('[class]')].map((c) => c.className).join(' ')).toLowerCase();
      const kind = /alert|error|erreur|danger|errornote|invalid/.test(marks) ? 'error'
        : /success|succes|status/.test(marks) ? 'success'
        : /warning|avertissement/.test(marks) ? 'warning' : 'info';
      out.push({text, kind});
    }
    return out;
  };
"""
)

PAGE_ANSWER_SCRIPT = (
    "() => {"
    + _ANSWER_HELPERS
    + r"""
  // A login form: one password field and at most two others to type in (a user name, a code). A form that
  // creates an account or changes a password has two or three password fields: its refusal is plain data.
  const typed = (root) => fieldsOf(root).filter((f) => visible(f) && !['checkbox', 'radio', 'file'].includes(f.type));
  const password = [...document.querySelectorAll('form, body')].some((root) => {
    const fields = typed(root);
    const secret = fields.filter((f) => f.type === 'password');
    return secret.length === 1 && fields.length <= 3 && (root.tagName === 'FORM' || !document.querySelector('form'));
  });
  return {fields: fieldErrors(), messages: banners(), password};
}"""
)
"""What the page shows after a refused submit: each field's own error message, the banners, a password field."""

MESSAGE_SCRIPT = (
    "() => {"
    + _ANSWER_HELPERS
    + r"""
  return {messages: banners(), fields: fieldErrors()};
}"""
)
"""The message banners of the page (success, error, information) and the fields' error messages."""

NET_ERROR_SCRIPT = r"""
() => {
  const code = document.querySelector('.error-code');
  if (code && code.textContent.trim()) return code.textContent.trim();
  try { return window.loadTimeDataRaw && window.loadTimeDataRaw.errorCode || null; } catch (e) { return null; }
}
"""
"""The net::ERR_ code shown by the browser's own error page, when it shows one."""

LOGIN_HINT = N_(
    "check the account's name and password (secrets); the run stops at once, since every item would be"
    " refused the same way and more attempts may lock the account"
)
"""The hint of a refused login (translated with `_()` where raised)."""


_FIELD_PROBLEMS = (
    (
        re.compile(r'^has no choice "(?P<value>.*)"$', re.DOTALL),
        N_("the field '{field}' has no choice \"{value}\""),
    ),
    (
        re.compile(r'^choice "(?P<value>.*)" is disabled$', re.DOTALL),
        N_("the field '{field}': the choice \"{value}\" is disabled"),
    ),
    (re.compile(r"^is a group without choices$"), N_("the field '{field}' is a group without choices")),
    (
        re.compile(r"^cannot be changed \(disabled or read-only\)$"),
        N_("the field '{field}' cannot be changed (disabled or read-only)"),
    ),
    (
        re.compile(r'^has no option "(?P<value>.*)"$', re.DOTALL),
        N_("the field '{field}' has no option \"{value}\""),
    ),
    (
        re.compile(r'^refused the value "(?P<value>.*)"$', re.DOTALL),
        N_("the field '{field}' refused the value \"{value}\""),
    ),
)
"""The problems `FILL_FORM_SCRIPT` reports, as a person reads them (translated with `_()` where raised)."""


def field_problem(field: str, problem: str) -> str:
    """The message for a problem `FILL_FORM_SCRIPT` met with a field, in the language shown."""
    for pattern, message in _FIELD_PROBLEMS:
        found = pattern.match(problem)
        if found:
            return _(message).format(field=field, value=found.groupdict().get("value", ""))
    return _("the field '{field}' {problem}").format(field=field, problem=problem)
