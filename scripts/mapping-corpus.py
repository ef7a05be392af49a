"""The header-matching corpus of mapping/testdata/corpus, built by
scripts/mapping-fixtures: task and point-of-interest sheets as Brazilian,
Chilean, Argentinian, Mexican, Colombian, American and British companies
send them, each written by a real program (Gnumeric, LibreOffice, Python's
csv module in utf-8, utf-8-sig, cp1252 and latin-1 with ';' or ','), and
beside each sheet NAME.expected.toml: the mapping a person would write.
mapping/corpus_test.go scores `mapping init` against them.
"""
import csv
import os
import random
import tempfile

rnd = random.Random(2024)

FIRST_PT = ["Maria", "João", "Ana", "Pedro", "Francisca", "Antônio", "Luíza", "Carlos", "Fernanda", "José", "Beatriz", "Raimundo"]
LAST_PT = ["da Silva", "Santos", "Oliveira", "Souza", "Conceição", "Ferreira", "Gonçalves", "Araújo", "Lima", "Pereira"]
FIRST_ES = ["María José", "Juan Pablo", "Camila", "Matías", "Valentina", "Sebastián", "Florencia", "Diego", "Josefa", "Ignacio"]
LAST_ES = ["González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva", "Martínez", "Sepúlveda"]
FIRST_EN = ["James", "Mary", "Robert", "Patricia", "Michael", "Linda", "David", "Susan", "Daniel", "Karen"]
LAST_EN = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Clark"]


def person(first, last):
    return f"{rnd.choice(first)} {rnd.choice(last)}"


def pick(xs):
    return rnd.choice(xs)


def datetime_serial():
    """A weekday appointment in 2024-2025 between 8:00 and 17:30, as a serial."""
    day = 45292 + rnd.randrange(0, 600)
    return day + (8 * 60 + 30 * rnd.randrange(0, 20)) / 1440


def serial_text(serial, style):
    import datetime
    t = datetime.datetime(1899, 12, 30) + datetime.timedelta(days=serial)
    return {"br": t.strftime("%d/%m/%Y %H:%M"), "iso": t.strftime("%Y-%m-%d %H:%M"), "date": t.strftime("%d/%m/%Y")}[style]


def write_csv(path, header, rows, encoding, delimiter):
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
    print("wrote", os.path.relpath(path))


def expected(path, name, target, fields):
    """fields: field → column, or for a coordinate pair ("Location", [lat, lng])."""
    out = [f"# The mapping a person would write for {name} (corpus of scripts/mapping-corpus.py).",
           f'name = "{name}"', f'target = "{target}"']
    for field, col in fields.items():
        key = f'"{field}"' if "." in field else field
        if isinstance(col, list):
            out.append(f"\n[fields.{key}]\ncolumns = [{', '.join(chr(34) + c + chr(34) for c in col)}]")
        else:
            out.append(f'\n[fields.{key}]\ncolumn = "{col}"')
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print("wrote", os.path.relpath(path))


def build(fx):
    out = fx.CORPUS
    sheets = []

    def sheet(name, writer, header, rows, target, fields, fmt=None, enc=None, delim=None, title=None):
        sheets.append(dict(name=name, writer=writer, header=header, rows=rows, target=target, fields=fields,
                           fmt=fmt or {}, enc=enc, delim=delim, title=title))

    # 1. São Paulo fibre ISP, Gnumeric .xlsx: separate Latitude/Longitude (the pair once half-mapped).
    rows = []
    for i in range(14):
        rows.append([3100200 + i, person(FIRST_PT, LAST_PT), f"(11) 3{rnd.randrange(100,999)}-{rnd.randrange(1000,9999)}",
                     f"(11) 9{rnd.randrange(1000,9999)}-{rnd.randrange(1000,9999)}", pick(["Rua Augusta", "Av. Paulista", "Rua da Consolação", "Rua Oscar Freire"]),
                     str(rnd.randrange(1, 3000)), pick(["Bela Vista", "Consolação", "Jardins", "Pinheiros"]), "São Paulo", "SP",
                     f"0{rnd.randrange(1000,5999)}-{rnd.randrange(100,999)}", round(-23.55 - rnd.random() / 20, 6), round(-46.63 - rnd.random() / 20, 6),
                     ("date", datetime_serial(), "dd/mm/yyyy hh:mm"), pick(["Instalação", "Reparo", "Retirada"]),
                     pick(["Carlos Lima", "Ana Souza", "Pedro Santos"]), pick(["", "Portão azul", "Ligar antes"])])
    sheet("os-saopaulo", "gnumeric.xlsx",
          ["Nº OS", "Cliente", "Telefone", "Celular", "Logradouro", "Número", "Bairro", "Município", "UF", "CEP", "Latitude", "Longitude",
           "Data Agendada", "Tipo de Serviço", "Técnico responsável", "Observações"], rows, "officetrack-task",
          {"TaskNumber": "Nº OS", "CustomerName": "Cliente", "Phone1": "Telefone", "Phone2": "Celular", "GeocodeAddress.Street": "Logradouro",
           "GeocodeAddress.HouseNumber": "Número", "GeocodeAddress.City": "Município", "GeocodeAddress.State": "UF", "GeocodeAddress.Zip": "CEP",
           "Location.Y": "Latitude", "Location.X": "Longitude", "DueDateTime": "Data Agendada", "TaskTypeCode": "Tipo de Serviço",
           "EmployeeNumber": "Técnico responsável", "Notes": "Observações"}, title="Ordens de serviço — março")

    # 2. Santiago de Chile, LibreOffice .ods: the Spanish sheet of the issue.
    rows = []
    for i in range(12):
        rows.append([88000 + i, person(FIRST_ES, LAST_ES), pick(["Av. Providencia 1234", "Los Leones 456", "Irarrázaval 2890", "Gran Avenida 7010"]),
                     pick(["Providencia", "Ñuñoa", "Las Condes", "San Miguel"]), f"+56 9 {rnd.randrange(1000,9999)} {rnd.randrange(1000,9999)}",
                     ("date", datetime_serial(), "dd/mm/yyyy hh:mm"), pick(["Instalación", "Visita técnica", "Retiro de equipo"]),
                     pick(["E-104", "E-221", "E-090"])])
    sheet("ordenes-santiago", "lo.ods", ["N° Orden", "Nombre Cliente", "Dirección", "Comuna", "Teléfono", "Fecha Programada", "Tipo Tarea", "Empleado"],
          rows, "officetrack-task",
          {"TaskNumber": "N° Orden", "CustomerName": "Nombre Cliente", "GeocodeAddress.Street": "Dirección", "GeocodeAddress.City": "Comuna",
           "Phone1": "Teléfono", "DueDateTime": "Fecha Programada", "TaskTypeCode": "Tipo Tarea", "EmployeeNumber": "Empleado"})

    # 3. Guadalajara, Gnumeric .xls (Excel 97-2003).
    rows = []
    for i in range(12):
        rows.append([f"{5500 + i}", person(FIRST_ES, LAST_ES), pick(["Av. Vallarta", "Calle Morelos", "Av. Chapultepec"]), str(rnd.randrange(10, 3000)),
                     pick(["Americana", "Providencia", "Chapalita"]), pick(["Guadalajara", "Zapopan"]), "Jalisco", f"44{rnd.randrange(100,999)}",
                     f"33 {rnd.randrange(1000,9999)} {rnd.randrange(1000,9999)}", f"cliente{i}@correo.mx", ("date", datetime_serial(), "dd/mm/yyyy hh:mm"),
                     pick(["Técnico 12", "Técnico 7"]), pick(["Sin señal", "Cambio de módem", "Instalación nueva"])])
    sheet("ordenes-guadalajara", "gnumeric.xls",
          ["Folio", "Cliente", "Calle", "Número", "Colonia", "Municipio", "Estado", "C.P.", "Teléfono", "Correo electrónico", "Fecha de visita",
           "Técnico asignado", "Descripción"], rows, "officetrack-task",
          {"TaskNumber": "Folio", "CustomerName": "Cliente", "GeocodeAddress.Street": "Calle", "GeocodeAddress.HouseNumber": "Número",
           "GeocodeAddress.City": "Municipio", "GeocodeAddress.State": "Estado", "GeocodeAddress.Zip": "C.P.", "Phone1": "Teléfono",
           "Email": "Correo electrónico", "DueDateTime": "Fecha de visita", "EmployeeNumber": "Técnico asignado", "Description": "Descripción"})

    # 4. Texas cable company, Python csv utf-8 with ','.
    rows = []
    for i in range(15):
        rows.append([str(7301000 + i), person(FIRST_EN, LAST_EN), f"({rnd.randrange(200,999)}) {rnd.randrange(200,999)}-{rnd.randrange(1000,9999)}",
                     f"{rnd.randrange(200,999)}-{rnd.randrange(200,999)}-{rnd.randrange(1000,9999)}", f"{rnd.randrange(100,9999)} {pick(['Main St', 'Oak Ave', 'Elm Dr'])}",
                     pick(["Austin", "Dallas", "Houston"]), "TX", str(rnd.randrange(73301, 79999)), serial_text(datetime_serial(), "iso"),
                     pick(["Install", "Repair", "Disconnect"]), pick(["T. Nguyen", "R. Garcia"]), pick(["", "Dog in yard", "Gate code 1234"]),
                     f"{pick(FIRST_EN).lower()}{i}@mail.com"])
    sheet("tickets-texas", "csv", ["Ticket #", "Customer", "Phone", "Mobile", "Street Address", "City", "State", "ZIP", "Scheduled", "Job Type",
                                   "Technician", "Notes", "Email"], rows, "officetrack-task",
          {"TaskNumber": "Ticket #", "CustomerName": "Customer", "Phone1": "Phone", "Phone2": "Mobile", "GeocodeAddress.Street": "Street Address",
           "GeocodeAddress.City": "City", "GeocodeAddress.State": "State", "GeocodeAddress.Zip": "ZIP", "DueDateTime": "Scheduled",
           "TaskTypeCode": "Job Type", "EmployeeNumber": "Technician", "Notes": "Notes", "Email": "Email"}, enc="utf-8", delim=",")

    # 5. Rio de Janeiro, Excel-style CSV: Windows-1252 with ';'.
    rows = []
    for i in range(13):
        rows.append([str(40100 + i), person(FIRST_PT, LAST_PT), f"(21) 9{rnd.randrange(1000,9999)}-{rnd.randrange(1000,9999)}",
                     pick(["Rua Voluntários da Pátria", "Av. Atlântica", "Rua São Clemente"]), str(rnd.randrange(1, 900)), pick(["", "apto 302", "casa 2"]),
                     pick(["Botafogo", "Copacabana", "Tijuca"]), "Rio de Janeiro", "RJ", f"22{rnd.randrange(100,999)}-{rnd.randrange(100,999)}",
                     serial_text(datetime_serial(), "br"), pick(["Instalação", "Manutenção"]), pick(["1044", "2087"]), pick(["", "Cliente idoso"])])
    sheet("tarefas-rio", "csv", ["OS", "Nome do Cliente", "Tel.", "Endereço", "Número", "Complemento", "Bairro", "Cidade", "UF", "CEP",
                                 "Agendamento", "Serviço", "Técnico", "Obs"], rows, "officetrack-task",
          {"TaskNumber": "OS", "CustomerName": "Nome do Cliente", "Phone1": "Tel.", "GeocodeAddress.Street": "Endereço",
           "GeocodeAddress.HouseNumber": "Número", "GeocodeAddress.City": "Cidade", "GeocodeAddress.State": "UF", "GeocodeAddress.Zip": "CEP",
           "DueDateTime": "Agendamento", "TaskTypeCode": "Serviço", "EmployeeNumber": "Técnico", "Notes": "Obs"}, enc="cp1252", delim=";")

    # 6. Buenos Aires, CSV UTF-8 with BOM (Excel's "CSV UTF-8") and ';'.
    rows = []
    for i in range(12):
        rows.append([str(120400 + i), pick(["Panadería Don José SRL", "Ferretería El Tornillo", "Kiosco Mitre"]), f"30-{rnd.randrange(10000000,99999999)}-{rnd.randrange(1,9)}",
                     pick(["Av. Corrientes", "Av. Rivadavia", "Calle Florida"]), str(rnd.randrange(100, 9000)), pick(["Palermo", "Caballito", "Almagro"]),
                     "Ciudad Autónoma de Buenos Aires", f"C{rnd.randrange(1000,1499)}ABC", f"11 {rnd.randrange(4000,4999)}-{rnd.randrange(1000,9999)}",
                     serial_text(datetime_serial(), "br"), pick(["Alta de servicio", "Reclamo", "Baja"]), pick(["Gómez", "Fernández"])])
    sheet("visitas-buenosaires", "csv", ["Nro. de Ticket", "Razón Social", "CUIT", "Domicilio", "Altura", "Localidad", "Provincia", "Código Postal",
                                         "Teléfono", "Fecha y hora de visita", "Motivo", "Operario"], rows, "officetrack-task",
          {"TaskNumber": "Nro. de Ticket", "CustomerName": "Razón Social", "CustomerNumber": "CUIT", "GeocodeAddress.Street": "Domicilio",
           "GeocodeAddress.HouseNumber": "Altura", "GeocodeAddress.City": "Localidad", "GeocodeAddress.State": "Provincia",
           "GeocodeAddress.Zip": "Código Postal", "Phone1": "Teléfono", "DueDateTime": "Fecha y hora de visita", "TaskTypeCode": "Motivo",
           "EmployeeNumber": "Operario"}, enc="utf-8-sig", delim=";")

    # 7. CTO boxes of a Brazilian ISP as points of interest, LibreOffice .xlsx.
    rows = []
    for i in range(12):
        rows.append([f"CTO-{1200 + i}", f"CTO {pick(['Centro', 'Vila Nova', 'Jardim'])} {i + 1:02d}", "POI", pick(["Rua XV de Novembro", "Av. Brasil"]),
                     str(rnd.randrange(1, 2000)), "Curitiba", "PR", f"80{rnd.randrange(100,999)}-{rnd.randrange(100,999)}", f"CEO-{rnd.randrange(1,9)}",
                     round(-25.42 - rnd.random() / 50, 6), round(-49.27 - rnd.random() / 50, 6)])
    sheet("pontos-cto", "lo.xlsx", ["Código", "Nome da Caixa", "Tipo", "Endereço", "Número", "Cidade", "UF", "CEP", "Caixa Pai", "Latitude", "Longitude"],
          rows, "officetrack-poi",
          {"customerNumber": "Código", "name": "Nome da Caixa", "type": "Tipo", "street": "Endereço", "houseNum": "Número", "city": "Cidade",
           "state": "UF", "zip": "CEP", "parentPoi": "Caixa Pai"})

    # 8. Sites of an American tower company as points of interest, Gnumeric .ods.
    rows = []
    for i in range(12):
        rows.append([f"S{30100 + i}", f"{pick(['North', 'South', 'East'])} Ridge {i + 1}", f"{rnd.randrange(100, 9999)} {pick(['Hwy 71', 'Ranch Rd 620'])}",
                     pick(["Austin", "Round Rock"]), "TX", str(rnd.randrange(78600, 78799)), f"(512) {rnd.randrange(200,999)}-{rnd.randrange(1000,9999)}",
                     f"S{30000 + rnd.randrange(0, 9)}", pick(["Tower", "Rooftop"])])
    sheet("sites-austin", "gnumeric.ods", ["Site ID", "Site Name", "Address", "City", "State", "Postal Code", "Phone", "Parent Site", "Category"],
          rows, "officetrack-poi",
          {"customerNumber": "Site ID", "name": "Site Name", "street": "Address", "city": "City", "state": "State", "zip": "Postal Code",
           "phone1": "Phone", "parentPoi": "Parent Site", "categories": "Category"})

    # 9. Minas Gerais, Python csv latin-1 with ','; other words for the same fields.
    rows = []
    for i in range(13):
        rows.append([str(9001200 + i), person(FIRST_PT, LAST_PT), f"{rnd.randrange(100,999)}.{rnd.randrange(100,999)}.{rnd.randrange(100,999)}-{rnd.randrange(10,99)}",
                     f"(31) 3{rnd.randrange(100,999)}-{rnd.randrange(1000,9999)}", f"(31) 9{rnd.randrange(1000,9999)}-{rnd.randrange(1000,9999)}",
                     pick(["Rua da Bahia", "Av. Afonso Pena", "Rua Espírito Santo"]), str(rnd.randrange(1, 2500)), "Belo Horizonte", "MG",
                     serial_text(datetime_serial(), "br"), pick(["Instalação", "Visita técnica"]), pick(["Equipe 3", "Equipe 5"]),
                     f"{pick(FIRST_PT).lower().replace('ã', 'a').replace('í', 'i').replace('ô', 'o').replace('é', 'e')}{i}@provedor.com.br", str(rnd.choice([30, 45, 60, 90]))])
    sheet("servicos-bh", "csv", ["Protocolo", "Assinante", "CPF/CNPJ", "Fone", "Whatsapp", "Rua", "Nº", "Cidade", "Estado", "Data Prevista",
                                 "Natureza", "Colaborador", "E-mail", "Duração (min)"], rows, "officetrack-task",
          {"TaskNumber": "Protocolo", "CustomerName": "Assinante", "CustomerNumber": "CPF/CNPJ", "Phone1": "Fone", "Phone2": "Whatsapp",
           "GeocodeAddress.Street": "Rua", "GeocodeAddress.HouseNumber": "Nº", "GeocodeAddress.City": "Cidade", "GeocodeAddress.State": "Estado",
           "DueDateTime": "Data Prevista", "TaskTypeCode": "Natureza", "EmployeeNumber": "Colaborador", "Email": "E-mail",
           "Duration": "Duração (min)"}, enc="latin-1", delim=",")

    # 10. A British maintenance firm, LibreOffice .xls; one "lat, lng" column.
    rows = []
    for i in range(12):
        rows.append([f"{61000 + i}", person(FIRST_EN, LAST_EN), person(FIRST_EN, LAST_EN), f"020 7{rnd.randrange(100,999)} {rnd.randrange(1000,9999)}",
                     f"{rnd.randrange(1, 200)} {pick(['Baker Street', 'King Road', 'Mill Lane'])}", pick(["London", "Croydon"]),
                     pick(["SW1A 1AA", "NW1 6XE", "CR0 2AB", "E14 5HQ"]), ("date", 45292 + rnd.randrange(0, 600), "dd/mm/yyyy"),
                     pick(["Boiler service", "Gas safety check"]), pick(["Eng. 14", "Eng. 22"]), rnd.choice([60, 90, 120]),
                     pick(["Annual check", "No hot water"]), f"{51.5 + rnd.random() / 10:.5f}, {-0.12 - rnd.random() / 10:.5f}"])
    sheet("jobs-london", "lo.xls", ["Job No.", "Client Name", "Contact", "Tel", "Site Address", "Town", "Postcode", "Due Date", "Work Type",
                                    "Engineer", "Duration", "Description", "Lat/Long"], rows, "officetrack-task",
          {"TaskNumber": "Job No.", "CustomerName": "Client Name", "ContactName": "Contact", "Phone1": "Tel", "GeocodeAddress.Street": "Site Address",
           "GeocodeAddress.City": "Town", "GeocodeAddress.Zip": "Postcode", "DueDateTime": "Due Date", "TaskTypeCode": "Work Type",
           "EmployeeNumber": "Engineer", "Duration": "Duration", "Description": "Description", "Location": "Lat/Long"})

    # 11. Bogotá, LibreOffice .xlsx; the status column holds OfficeTrack statuses.
    rows = []
    for i in range(12):
        rows.append([str(23000 + i), person(FIRST_ES, LAST_ES), str(rnd.randrange(10000000, 1099999999)), f"Calle {rnd.randrange(1, 170)} # {rnd.randrange(1, 99)}-{rnd.randrange(1, 99)}",
                     pick(["Chapinero", "Usaquén", "Teusaquillo"]), "Bogotá", "Cundinamarca", f"3{rnd.randrange(10,22)} {rnd.randrange(100,999)} {rnd.randrange(1000,9999)}",
                     ("date", datetime_serial(), "dd/mm/yyyy hh:mm"), pick(["Instalación", "Soporte"]), pick(["Téc. Ramírez", "Téc. Castro"]),
                     pick(["NewTask", "NewTask", "Canceled"]), pick(["", "Llamar al llegar"])])
    sheet("ordenes-bogota", "lo.xlsx", ["Orden de trabajo", "Cliente", "Cédula", "Dirección", "Barrio", "Ciudad", "Departamento", "Celular",
                                        "Fecha Agendada", "Tipo de Servicio", "Técnico", "Estado", "Observaciones"], rows, "officetrack-task",
          {"TaskNumber": "Orden de trabajo", "CustomerName": "Cliente", "CustomerNumber": "Cédula", "GeocodeAddress.Street": "Dirección",
           "GeocodeAddress.City": "Ciudad", "GeocodeAddress.State": "Departamento", "Phone1": "Celular", "DueDateTime": "Fecha Agendada",
           "TaskTypeCode": "Tipo de Servicio", "EmployeeNumber": "Técnico", "Status": "Estado", "Notes": "Observaciones"})

    # 12. Porto Alegre help desk, Gnumeric .xls; full address and one coordinates column.
    rows = []
    for i in range(12):
        rows.append([str(770100 + i), ("date", datetime_serial() - 3, "dd/mm/yyyy hh:mm"), person(FIRST_PT, LAST_PT), person(FIRST_PT, LAST_PT),
                     f"(51) 3{rnd.randrange(100,999)}-{rnd.randrange(1000,9999)}", f"suporte{i}@empresa.com.br",
                     f"{pick(['Av. Ipiranga', 'Rua dos Andradas'])}, {rnd.randrange(1, 3000)} - Porto Alegre/RS",
                     f"{-30.03 - rnd.random() / 50:.6f}, {-51.22 - rnd.random() / 50:.6f}", pick(["Alta", "Média", "Baixa"]),
                     pick(["Sem internet", "Lentidão", "Troca de roteador"]), pick(["Equipe Norte", "Equipe Sul"]), ("date", datetime_serial(), "dd/mm/yyyy hh:mm")])
    sheet("chamados-portoalegre", "gnumeric.xls", ["Chamado", "Data Abertura", "Cliente", "Contato", "Telefone", "E-mail", "Endereço completo",
                                                   "Coordenadas", "Prioridade", "Descrição do problema", "Equipe", "Prazo"], rows, "officetrack-task",
          {"TaskNumber": "Chamado", "ExternalCreationDate": "Data Abertura", "CustomerName": "Cliente", "ContactName": "Contato",
           "Phone1": "Telefone", "Email": "E-mail", "Location.Address": "Endereço completo", "Location": "Coordenadas", "Categories": "Prioridade",
           "Description": "Descrição do problema", "EmployeeNumber": "Equipe", "DueDateTime": "Prazo"})

    # 13. An American utility's work orders, Python csv utf-8 with ';'.
    rows = []
    for i in range(12):
        rows.append([f"WO-{55010 + i}", f"AC{rnd.randrange(100000, 999999)}", person(FIRST_EN, LAST_EN), f"{rnd.randrange(10, 9999)} {pick(['Pine St', 'Lake Blvd'])}",
                     str(rnd.randrange(30301, 30399)), f"404-{rnd.randrange(200,999)}-{rnd.randrange(1000,9999)}", serial_text(datetime_serial(), "iso"),
                     pick(["Meter exchange", "Leak check"]), pick(["crew 4", "crew 9"]), pick(["", "Call on arrival"]),
                     f"{33.7 + rnd.random() / 10:.6f}", f"{-84.38 - rnd.random() / 10:.6f}"])
    sheet("workorders-atlanta", "csv", ["WO #", "Account", "Customer Name", "Service Address", "Zip Code", "Phone Number", "Appointment",
                                        "Order Type", "Assigned To", "Remarks", "Latitude", "Longitude"], rows, "officetrack-task",
          {"WorkOrderNumber": "WO #", "CustomerNumber": "Account", "CustomerName": "Customer Name", "GeocodeAddress.Street": "Service Address",
           "GeocodeAddress.Zip": "Zip Code", "Phone1": "Phone Number", "DueDateTime": "Appointment", "TaskTypeCode": "Order Type",
           "EmployeeNumber": "Assigned To", "Notes": "Remarks", "Location.Y": "Latitude", "Location.X": "Longitude"}, enc="utf-8", delim=";")

    src_dir = os.path.join(out, "src")
    os.makedirs(src_dir, exist_ok=True)
    for s in sheets:
        name, writer = s["name"], s["writer"]
        head = [s["title"]] if s["title"] else None
        if writer == "csv":
            plain = [[(serial_text(v[1], "br") if isinstance(v, tuple) else v) for v in r] for r in s["rows"]]
            write_csv(os.path.join(out, name + ".csv"), s["header"], plain, s["enc"], s["delim"])
        else:
            rows = ([head, []] if head else []) + [s["header"]] + s["rows"]
            src = os.path.join(src_dir, name + ".gnumeric")
            fx.gnumeric(src, [("Planilha1", rows)])
            prog, ext = writer.split(".")
            dst = os.path.join(out, f"{name}.{ext}")
            if prog == "gnumeric":
                fx.ssconvert(src, dst, {"xlsx": "Gnumeric_Excel:xlsx2", "ods": "Gnumeric_OpenCalc:odf", "xls": "Gnumeric_Excel:excel_biff8"}[ext])
            else:
                tmp = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False).name
                fx.ssconvert(src, tmp, "Gnumeric_Excel:xlsx2")
                fx.soffice(tmp, dst, {"xlsx": "xlsx:Calc MS Excel 2007 XML", "ods": "ods", "xls": "xls:MS Excel 97"}[ext])
                os.remove(tmp)
        fields = {}
        for f, c in s["fields"].items():
            fields[f] = c
        expected(os.path.join(out, name + ".expected.toml"), name, s["target"], fields)
