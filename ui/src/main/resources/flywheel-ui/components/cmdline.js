// Command lines as people type them, and the argument lists the API takes (trainer.command).

/** Splits a command line into arguments as a POSIX shell would quote it: "a b" 'c d' e\ f. */
export function splitCommandLine(line) {
  const args = [];
  let cur = '';
  let has = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('the command line has an unclosed single quote');
      cur += line.slice(i + 1, end);
      has = true;
      i = end + 1;
    } else if (c === '"') {
      i += 1;
      has = true;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
          cur += line[i + 1];
          i += 2;
        } else {
          cur += line[i];
          i += 1;
        }
      }
      if (i >= line.length) throw new Error('the command line has an unclosed double quote');
      i += 1;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[i + 1];
      has = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (has) args.push(cur);
      cur = '';
      has = false;
      i += 1;
    } else {
      cur += c;
      has = true;
      i += 1;
    }
  }
  if (has) args.push(cur);
  return args;
}

/** The arguments back as one command line that splitCommandLine reads the same. */
export function joinCommandLine(args) {
  return (args || []).map((a) => (a !== '' && /^[\w@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/(["\\$`])/g, '\\$1')}"`)).join(' ');
}
