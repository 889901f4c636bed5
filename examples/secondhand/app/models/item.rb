# An item for sale. `seq` is chosen by the client, unique: a test that records which seqs were
# acknowledged can later ask the database which of them survived a failover.
class Item < ApplicationRecord
end
