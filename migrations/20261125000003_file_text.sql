-- The cleaned text of an uploaded file, kept at indexing time so the page
-- its citations link to is served without parsing the file again.
alter table file_blob add column sections jsonb;
