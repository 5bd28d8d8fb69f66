import { highlightLine, type CodeFlavour } from './highlight-code';

/** One line of code as coloured spans (React text only: the line is never parsed as HTML). */
export function CodeLine({ text, flavour }: { text: string; flavour: CodeFlavour | undefined }) {
  return (
    <>
      {highlightLine(text, flavour).map((token, i) =>
        token.kind === 'plain' ? token.text : (
          <span key={i} className={`tok-${token.kind}`}>
            {token.text}
          </span>
        ),
      )}
    </>
  );
}
