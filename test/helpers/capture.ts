/** A text sink for a CLI's output stream (what `fieldscope migrate` prints), read back as one string. */
export function capture(): { stream: { write(chunk: string): boolean }; text: () => string } {
  let text = '';
  return { stream: { write: (chunk: string) => ((text += chunk), true) }, text: () => text };
}
