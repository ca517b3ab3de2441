"""Reading an HTML table in the page, in one round trip: header cells name the fields of each row's record."""

READ_TABLE_SCRIPT = r"""
(table) => {
  const clean = (t) => (t || '').replace(/\s+/g, ' ').trim();
  const rows = [...table.rows];
  if (!rows.length) return [];
  let headerRow = table.tHead && table.tHead.rows.length ? table.tHead.rows[table.tHead.rows.length - 1] : null;
  if (!headerRow && [...rows[0].cells].every((c) => c.tagName === 'TH')) headerRow = rows[0];
  const names = [];
  if (headerRow) {
    for (const cell of headerRow.cells) {
      let name = clean(cell.innerText) || ('colonne ' + (names.length + 1));
      while (names.includes(name)) name += ' (bis)';
      names.push(name);
      for (let i = 1; i < (cell.colSpan || 1); i++) names.push(name + ' ' + (i + 1));
    }
  }
  const body = rows.filter((r) => r !== headerRow && !(table.tHead && table.tHead.contains(r)) && !(table.tFoot && table.tFoot.contains(r)));
  return body.map((row) => {
    const record = {};
    [...row.cells].forEach((cell, i) => {
      const key = names[i] || ('colonne ' + (i + 1));
      const text = clean(cell.innerText);
      record[key] = text === '' ? null : text;
    });
    return record;
  }).filter((record) => Object.values(record).some((v) => v !== null));
}
"""
