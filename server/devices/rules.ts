// Factory manifest parsing: pure, so every bad-row reason is unit-tested.
// Columns: id,type,hardwareVersion,region,firmwareVersion,tags (tags split by ';').

export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const NAME_PATTERN = /^[A-Za-z0-9_.:/ -]{1,64}$/;
const TAG_PATTERN = /^[A-Za-z0-9_.:=/-]{1,64}$/;
export const SEMVER_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
export const MANIFEST_COLUMNS = ["id", "type", "hardwareVersion", "region", "firmwareVersion", "tags"] as const;
export const MAX_MANIFEST_ROWS = 200_000;

export type ManifestRow = {
  line: number;
  id: string;
  type: string;
  hardwareVersion: string;
  region: string;
  firmwareVersion: string;
  tags: string[];
};
export type ManifestError = { line: number; reason: string };
export type ParsedManifest = { rows: ManifestRow[]; errors: ManifestError[] };

/** Splits CSV text into records of fields (RFC 4180 quoting), keeping each record's first line number. */
export function splitCsv(text: string): Array<{ line: number; fields: string[] }> {
  const records: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  const pushRecord = () => {
    fields.push(field);
    const blank = fields.length === 1 && fields[0]!.trim() === "";
    if (!blank) records.push({ line: recordLine, fields });
    fields = [];
    field = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') inQuotes = false;
      else {
        if (ch === "\n") line++;
        field += ch;
      }
    } else if (ch === '"' && field.trim() === "") {
      inQuotes = true;
      field = "";
    } else if (ch === ",") {
      fields.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      pushRecord();
      line++;
      recordLine = line;
    } else field += ch;
  }
  if (field !== "" || fields.length > 0) pushRecord();
  return records;
}

function isHeader(fields: string[]): boolean {
  return fields[0]?.trim().replace(/^\uFEFF/, "").toLowerCase() === "id";
}

function validateRow(line: number, fields: string[]): ManifestRow | ManifestError {
  if (fields.length !== MANIFEST_COLUMNS.length) {
    return { line, reason: `expected ${MANIFEST_COLUMNS.length} columns (${MANIFEST_COLUMNS.join(",")}), found ${fields.length}` };
  }
  const [id, type, hardwareVersion, region, firmwareVersion, tagText] = fields.map((f) => f.trim()) as [
    string, string, string, string, string, string,
  ];
  if (!DEVICE_ID_PATTERN.test(id)) return { line, reason: `id "${id}" must be 1–64 characters of letters, digits, "_", "." or "-"` };
  if (!NAME_PATTERN.test(type)) return { line, reason: `type "${type}" is empty or has characters other than letters, digits and _.:/ -` };
  if (!NAME_PATTERN.test(hardwareVersion)) return { line, reason: `hardwareVersion "${hardwareVersion}" is empty or invalid` };
  if (!NAME_PATTERN.test(region)) return { line, reason: `region "${region}" is empty or invalid` };
  if (!SEMVER_PATTERN.test(firmwareVersion)) return { line, reason: `firmwareVersion "${firmwareVersion}" is not a semantic version (e.g. 4.1.5)` };
  const tags = tagText === "" ? [] : tagText.split(";").map((t) => t.trim()).filter((t) => t !== "");
  const badTag = tags.find((t) => !TAG_PATTERN.test(t));
  if (badTag !== undefined) return { line, reason: `tag "${badTag}" is invalid (letters, digits and _.:=/- only, up to 64)` };
  return { line, id, type, hardwareVersion, region, firmwareVersion, tags: [...new Set(tags)] };
}

export function parseManifest(text: string): ParsedManifest {
  const records = splitCsv(text);
  const rows: ManifestRow[] = [];
  const errors: ManifestError[] = [];
  const seen = new Map<string, number>();
  for (const [index, record] of records.entries()) {
    if (index === 0 && isHeader(record.fields)) continue;
    if (rows.length >= MAX_MANIFEST_ROWS) {
      errors.push({ line: record.line, reason: `a manifest holds at most ${MAX_MANIFEST_ROWS} devices; split the file` });
      break;
    }
    const result = validateRow(record.line, record.fields);
    if ("reason" in result) {
      errors.push(result);
      continue;
    }
    const firstLine = seen.get(result.id);
    if (firstLine !== undefined) {
      errors.push({ line: record.line, reason: `id "${result.id}" already appears on line ${firstLine}` });
      continue;
    }
    seen.set(result.id, record.line);
    rows.push(result);
  }
  return { rows, errors };
}
