"""The satisfaction survey (Survei Kepuasan Masyarakat, SKM) of a closed ticket and its index (IKM), the way
Permenpan RB No. 14 of 2017 asks: `schema` (the ``survey_answers`` table of the state database), `ikm`
(the index, per service and overall, computed in SQL)."""
