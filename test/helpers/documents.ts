/**
 * Real documents made in the test: PDFs with pdf-lib (text layer, several pages), Markdown.
 */
import { PDFDocument, StandardFonts } from 'pdf-lib';

/** A PDF whose page i carries the lines pages[i]. */
export async function makePdf(pages: string[][], title?: string): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  if (title) pdf.setTitle(title);
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = pdf.addPage([595, 842]);
    lines.forEach((line, i) => page.drawText(line, { x: 50, y: 780 - i * 18, size: 12, font }));
  }
  return pdf.save();
}

export const PUMP_MANUAL_MD = `# P-200 Centrifugal Pump Service Manual

## Mechanical seal replacement

Isolate the pump and drain the casing. Remove the coupling guard. Replace the mechanical seal
kit 4471-B and the O-ring 2210-C. Torque the gland bolts to 25 Nm in a cross pattern.

## Bearing lubrication

Grease the bearings every 2,000 hours with lithium complex grease. Part number GR-88.

## Troubleshooting cavitation

Noise like gravel in the casing means cavitation: check the suction strainer and the NPSH margin.
`;
