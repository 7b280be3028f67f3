/**
 * Text cut into lines of at most `width` characters at spaces (a word longer than the width, such
 * as a path, gets a line of its own rather than being broken). Width 0 or less: one line.
 */
export function wrapWords(text: string, width: number): string[] {
  if (width <= 0 || text.length <= width) return [text];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line = `${line} ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  return lines;
}
